<!doctype html>
<html><head><title>port 3000 of {{ config_get("user.tidepool.workspace", instance.name) }}</title></head>
<body><h1>port 3000 of {{ config_get("user.tidepool.workspace", instance.name) }}</h1><p>instance {{ instance.name }}</p></body></html>
