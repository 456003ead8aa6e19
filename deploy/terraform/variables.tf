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
  description = "The edge reaches each region at <region>.<regions_domain> (the edge Ingress hosts, proxied by Cloudflare)"
  type        = string
}

# One signing secret per caller role (>= 32 characters each, all different): a leaked edge secret
# signs no peer or admin call.
variable "edge_secret" {
  description = "STORMLOG_EDGE_SECRET of every region; the edge's EDGE_SECRET (wrangler secret put)"
  type        = string
  sensitive   = true
}

variable "peer_secret" {
  description = "STORMLOG_PEER_SECRET: signs region-to-region calls; only the regions hold it"
  type        = string
  sensitive   = true
}

variable "admin_secret" {
  description = "STORMLOG_ADMIN_SECRET: signs the admin CLI's calls; the regions and the operators hold it"
  type        = string
  sensitive   = true
}

variable "origin_pull_ca" {
  description = "PEM of the CA that issued origin_pull_certificate; each region's edge Ingress trusts only it"
  type        = string
}

variable "origin_pull_certificate" {
  description = "PEM client certificate Cloudflare presents to the regions (per-hostname authenticated origin pulls)"
  type        = string
}

variable "origin_pull_private_key" {
  description = "The private key of origin_pull_certificate"
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
  description = "Per region: its cloud location, the kube context of its cluster, its size, the database's network and its public ingress address"
  type = map(object({
    location             = string
    kube_context         = string
    size                 = string
    db_subnet_group_name = string
    security_group_ids   = list(string)
    ingress_address      = string
  }))
}
