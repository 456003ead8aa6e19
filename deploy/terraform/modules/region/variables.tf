variable "environment" {
  type = string
}

variable "region_name" {
  description = "The Stormlog region (STORMLOG_REGION), e.g. eu-west"
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9-]{1,32}$", var.region_name))
    error_message = "region_name: lowercase letters, digits and -, at most 32."
  }
}

variable "location" {
  description = "The cloud location the region runs in, e.g. eu-west-1"
  type        = string
}

variable "size" {
  description = "small, medium or large: the database's instance class and storage"
  type        = string
  default     = "small"
  validation {
    condition     = contains(["small", "medium", "large"], var.size)
    error_message = "size must be small, medium or large."
  }
}

variable "db_subnet_group_name" {
  type = string
}

variable "security_group_ids" {
  type = list(string)
}

variable "edge_secret" {
  type      = string
  sensitive = true
}

variable "peer_secret" {
  type      = string
  sensitive = true
}

variable "admin_secret" {
  type      = string
  sensitive = true
}

variable "origin_pull_ca" {
  description = "PEM of the CA whose client certificate (Cloudflare's, per hostname) the edge Ingress requires"
  type        = string
}

variable "keyring_json" {
  type      = string
  sensitive = true
}
