# The edge's Cloudflare resources. wrangler.toml's [env.<name>] binds them by these names; the
# Worker itself is uploaded by `npm run deploy:edge -- --env <name>`.
locals {
  worker_name = "stormlog-edge-${var.environment}"
  spool_name  = "stormlog-spool-${var.environment}"
}

resource "cloudflare_queue" "spool" {
  account_id = var.cloudflare_account_id
  queue_name = local.spool_name
}

resource "cloudflare_queue" "spool_dead" {
  account_id = var.cloudflare_account_id
  queue_name = "${local.spool_name}-dead"
}

resource "cloudflare_r2_bucket" "spool" {
  account_id = var.cloudflare_account_id
  name       = local.spool_name
}

# A proxied placeholder record so the hostname resolves to Cloudflare, where the route takes it.
resource "cloudflare_dns_record" "ingest" {
  zone_id = var.cloudflare_zone_id
  name    = var.ingest_hostname
  type    = "AAAA"
  content = "100::"
  proxied = true
  ttl     = 1
}

resource "cloudflare_workers_route" "ingest" {
  zone_id = var.cloudflare_zone_id
  pattern = "${var.ingest_hostname}/*"
  script  = local.worker_name
}

# Each region's name for the edge, proxied: the edge reaches a region only through Cloudflare,
# which presents our client certificate (below) to the region's edge Ingress, and that Ingress
# refuses any connection without it (docs/operations.md, "Network model"). Peers reach each other
# on the private network under names of its own, and the admin port has no name at all.
resource "cloudflare_dns_record" "region" {
  for_each = var.regions
  zone_id  = var.cloudflare_zone_id
  name     = "${each.key}.${var.regions_domain}"
  type     = "A"
  content  = each.value.ingress_address
  proxied  = true
  ttl      = 1
}

# Per-hostname authenticated origin pulls with our own certificate: Cloudflare's shared one would
# let any Cloudflare customer's traffic through.
resource "cloudflare_authenticated_origin_pulls_hostname_certificate" "regions" {
  zone_id     = var.cloudflare_zone_id
  certificate = var.origin_pull_certificate
  private_key = var.origin_pull_private_key
}

resource "cloudflare_authenticated_origin_pulls" "regions" {
  zone_id = var.cloudflare_zone_id
  config = [for name, region in var.regions : {
    hostname = "${name}.${var.regions_domain}"
    cert_id  = cloudflare_authenticated_origin_pulls_hostname_certificate.regions.id
    enabled  = true
  }]
}
