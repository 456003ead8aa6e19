# One module per region, each with the providers of its own location and cluster: a region is a
# separate failure domain, so nothing here is shared between two of them.
provider "aws" {
  alias  = "eu_west"
  region = var.regions["eu-west"].location
}

provider "aws" {
  alias  = "us_east"
  region = var.regions["us-east"].location
}

provider "aws" {
  alias  = "ap_south"
  region = var.regions["ap-south"].location
}

provider "kubernetes" {
  alias          = "eu_west"
  config_path    = var.kubeconfig_path
  config_context = var.regions["eu-west"].kube_context
}

provider "kubernetes" {
  alias          = "us_east"
  config_path    = var.kubeconfig_path
  config_context = var.regions["us-east"].kube_context
}

provider "kubernetes" {
  alias          = "ap_south"
  config_path    = var.kubeconfig_path
  config_context = var.regions["ap-south"].kube_context
}

module "eu_west" {
  source               = "./modules/region"
  providers            = { aws = aws.eu_west, kubernetes = kubernetes.eu_west }
  environment          = var.environment
  region_name          = "eu-west"
  location             = var.regions["eu-west"].location
  size                 = var.regions["eu-west"].size
  db_subnet_group_name = var.regions["eu-west"].db_subnet_group_name
  security_group_ids   = var.regions["eu-west"].security_group_ids
  edge_secret          = var.edge_secret
  peer_secret          = var.peer_secret
  admin_secret         = var.admin_secret
  origin_pull_ca       = var.origin_pull_ca
  keyring_json         = var.keyring_json
}

module "us_east" {
  source               = "./modules/region"
  providers            = { aws = aws.us_east, kubernetes = kubernetes.us_east }
  environment          = var.environment
  region_name          = "us-east"
  location             = var.regions["us-east"].location
  size                 = var.regions["us-east"].size
  db_subnet_group_name = var.regions["us-east"].db_subnet_group_name
  security_group_ids   = var.regions["us-east"].security_group_ids
  edge_secret          = var.edge_secret
  peer_secret          = var.peer_secret
  admin_secret         = var.admin_secret
  origin_pull_ca       = var.origin_pull_ca
  keyring_json         = var.keyring_json
}

module "ap_south" {
  source               = "./modules/region"
  providers            = { aws = aws.ap_south, kubernetes = kubernetes.ap_south }
  environment          = var.environment
  region_name          = "ap-south"
  location             = var.regions["ap-south"].location
  size                 = var.regions["ap-south"].size
  db_subnet_group_name = var.regions["ap-south"].db_subnet_group_name
  security_group_ids   = var.regions["ap-south"].security_group_ids
  edge_secret          = var.edge_secret
  peer_secret          = var.peer_secret
  admin_secret         = var.admin_secret
  origin_pull_ca       = var.origin_pull_ca
  keyring_json         = var.keyring_json
}

output "namespaces" {
  value = {
    "eu-west"  = module.eu_west.namespace
    "us-east"  = module.us_east.namespace
    "ap-south" = module.ap_south.namespace
  }
}
