variable "environment" {
  description = "development, staging or production; names every resource"
  type        = string
  validation {
    condition     = contains(["development", "staging", "production"], var.environment)
    error_message = "environment must be development, staging or production."
  }
}

variable "cloudflare_api_token" {
  description = "API token with Workers, Queues, R2 and DNS edit rights"
  type        = string
  sensitive   = true
}

variable "cloudflare_account_id" {
  type = string
}

variable "cloudflare_zone_id" {
  description = "The zone that holds the ingest hostname and the regions' hostnames"
  type        = string
}

variable "ingest_hostname" {
  description = "Where SDKs upload, e.g. ingest.stormlog.example"
  type        = string
}

variable "regions_domain" {
  description = "Each region answers at <region>.<regions_domain> (the manifests' Ingress hosts)"
  type        = string
}

variable "region_secret" {
  description = "STORMLOG_REGION_SECRET shared by the edge and every region (>= 32 characters)"
  type        = string
  sensitive   = true
}

variable "keyring_json" {
  description = "The cluster's keyring, {\"active\":\"k1\",\"keys\":{...}}; one for every region"
  type        = string
  sensitive   = true
}

variable "kubeconfig_path" {
  type    = string
  default = "~/.kube/config"
}

variable "regions" {
  description = "Per region: its cloud location, the kube context of its cluster, its size and the database's network"
  type = map(object({
    location             = string
    kube_context         = string
    size                 = string
    db_subnet_group_name = string
    security_group_ids   = list(string)
    ingress_address      = string
  }))
}
