<!doctype html>
<html><head><title>Tidepool workspace {{ config_get("user.tidepool.workspace", instance.name) }}</title></head>
<body>
<h1>Tidepool workspace {{ config_get("user.tidepool.workspace", instance.name) }}</h1>
<p>instance {{ instance.name }} &middot; port 8080 &middot; tidepool-minimal image</p>
</body></html>
