# Stormlog's infrastructure outside what wrangler and the Kubernetes manifests cover: the edge's
# DNS record and route, its queues and bucket (Cloudflare), and per region a cluster namespace, a
# PostgreSQL database and the Secrets the manifests reference (modules/region). One state per
# environment: `terraform workspace select staging` or separate backends; see docs/operations.md.
terraform {
  required_version = ">= 1.6"
  required_providers {
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "~> 5.0"
    }
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.30"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "cloudflare" {
  api_token = var.cloudflare_api_token
}
