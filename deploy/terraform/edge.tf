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

# Each region's public name, pointing at its cluster's ingress (not proxied: the edge calls it).
resource "cloudflare_dns_record" "region" {
  for_each = var.regions
  zone_id  = var.cloudflare_zone_id
  name     = "${each.key}.${var.regions_domain}"
  type     = "A"
  content  = each.value.ingress_address
  proxied  = false
  ttl      = 300
}
