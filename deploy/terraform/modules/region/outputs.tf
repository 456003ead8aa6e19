output "namespace" {
  value = kubernetes_namespace_v1.region.metadata[0].name
}

output "database_endpoint" {
  value = aws_db_instance.region.endpoint
}
