# One Stormlog region: its namespace in the region's cluster, its PostgreSQL database, and the
# Secrets the rendered manifests reference by name (stormlog-<region>: edge-secret, peer-secret,
# admin-secret, database-url, keystore-database-url; stormlog-keyring: keyring.json; stormlog-origin-pull-ca: ca.crt,
# which the edge Ingress verifies Cloudflare's client certificate against). The manifests never
# carry these values.
terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
    kubernetes = {
      source = "hashicorp/kubernetes"
    }
    random = {
      source = "hashicorp/random"
    }
  }
}

locals {
  namespace = "stormlog-${var.environment}"
  name      = "stormlog-${var.region_name}"
  sizes = {
    small  = { instance_class = "db.t4g.small", storage_gb = 20 }
    medium = { instance_class = "db.m7g.large", storage_gb = 100 }
    large  = { instance_class = "db.m7g.2xlarge", storage_gb = 500 }
  }
  database = local.sizes[var.size]
}

resource "kubernetes_namespace_v1" "region" {
  metadata {
    name = local.namespace
    labels = {
      "app.kubernetes.io/part-of"          = "stormlog"
      "stormlog.dev/region"                = var.region_name
      "pod-security.kubernetes.io/enforce" = "restricted"
    }
  }
}

resource "random_password" "database" {
  length  = 40
  special = false
}

resource "aws_db_instance" "region" {
  identifier                 = "${local.name}-${var.environment}"
  engine                     = "postgres"
  engine_version             = "16"
  instance_class             = local.database.instance_class
  allocated_storage          = local.database.storage_gb
  max_allocated_storage      = local.database.storage_gb * 4
  storage_encrypted          = true
  db_name                    = "stormlog"
  username                   = "stormlog"
  password                   = random_password.database.result
  db_subnet_group_name       = var.db_subnet_group_name
  vpc_security_group_ids     = var.security_group_ids
  multi_az                   = var.environment == "production"
  backup_retention_period    = var.environment == "production" ? 14 : 3
  deletion_protection        = var.environment == "production"
  skip_final_snapshot        = var.environment != "production"
  final_snapshot_identifier  = "${local.name}-${var.environment}-final"
  auto_minor_version_upgrade = true
  tags = {
    stormlog_region = var.region_name
    location        = var.location
  }
}

# The key store (regional/keystore/): an instance of its own, so a snapshot of the batch data never
# holds the keys that open it, with the shortest automated backups RDS keeps (1 day): a key an
# erasure destroyed survives in a key-store backup until that backup expires (README "Erasure").
resource "aws_db_instance" "keystore" {
  identifier                 = "${local.name}-keys-${var.environment}"
  engine                     = "postgres"
  engine_version             = "16"
  instance_class             = "db.t4g.micro"
  allocated_storage          = 20
  storage_encrypted          = true
  db_name                    = "stormlog_keys"
  username                   = "stormlog"
  password                   = random_password.database.result
  db_subnet_group_name       = var.db_subnet_group_name
  vpc_security_group_ids     = var.security_group_ids
  multi_az                   = var.environment == "production"
  backup_retention_period    = 1
  deletion_protection        = var.environment == "production"
  skip_final_snapshot        = true
  auto_minor_version_upgrade = true
  tags = {
    stormlog_region = var.region_name
    location        = var.location
  }
}

resource "kubernetes_secret_v1" "region" {
  metadata {
    name      = local.name
    namespace = kubernetes_namespace_v1.region.metadata[0].name
  }
  data = {
    "edge-secret"  = var.edge_secret
    "peer-secret"  = var.peer_secret
    "admin-secret" = var.admin_secret
    "database-url" = "postgres://stormlog:${random_password.database.result}@${aws_db_instance.region.endpoint}/stormlog?sslmode=require"
    "keystore-database-url" = "postgres://stormlog:${random_password.database.result}@${aws_db_instance.keystore.endpoint}/stormlog_keys?sslmode=require"
  }
}

resource "kubernetes_secret_v1" "origin_pull_ca" {
  metadata {
    name      = "stormlog-origin-pull-ca"
    namespace = kubernetes_namespace_v1.region.metadata[0].name
  }
  data = {
    "ca.crt" = var.origin_pull_ca
  }
}

resource "kubernetes_secret_v1" "keyring" {
  metadata {
    name      = "stormlog-keyring"
    namespace = kubernetes_namespace_v1.region.metadata[0].name
  }
  data = {
    "keyring.json" = var.keyring_json
  }
}
