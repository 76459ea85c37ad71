"""`modelfab ui`: the dashboard, server-rendered HTML over the project's typed readers."""
