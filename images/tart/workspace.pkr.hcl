# Tidepool workspace image for Tart (macOS hosts on Apple silicon): a Linux (default) or macOS
# VM with code-server on :8080, stored as the local Tart VM "tidepool-workspace", which is
# what the `default` image template maps to on the Tart runtime
# (drivers/runtime/images.ts).
#
#   packer init workspace.pkr.hcl
#   packer build workspace.pkr.hcl                                   # Linux guest (Ubuntu)
#   packer build -var base=ghcr.io/cirruslabs/macos-sequoia-base:latest workspace.pkr.hcl   # macOS guest
#
# Not buildable on Linux: Tart needs macOS on Apple silicon. See README.md.

packer {
  required_plugins {
    tart = {
      version = ">= 1.12.0"
      source  = "github.com/cirruslabs/tart"
    }
  }
}

variable "base" {
  type        = string
  default     = "ghcr.io/cirruslabs/ubuntu:latest"
  description = "Tart image to start from (cirruslabs images log in as admin/admin)."
}

variable "vm_name" {
  type    = string
  default = "tidepool-workspace"
}

variable "code_server_version" {
  type        = string
  default     = ""
  description = "code-server version to install; empty = the latest release."
}

source "tart-cli" "workspace" {
  vm_base_name = var.base
  vm_name      = var.vm_name
  cpu_count    = 2
  memory_gb    = 4
  disk_size_gb = 40
  headless     = true
  disable_vnc  = true
  ssh_username = "admin"
  ssh_password = "admin"
  ssh_timeout  = "300s"
}

build {
  sources = ["source.tart-cli.workspace"]

  provisioner "shell" {
    script           = "${path.root}/setup.sh"
    environment_vars = ["CODE_SERVER_VERSION=${var.code_server_version}", "WORKSPACE_USER=admin"]
    # sudo with the password of the cirruslabs images; setup.sh runs as root.
    execute_command = "echo admin | sudo -S -E bash '{{ .Path }}'"
  }
}
