"""Built-in pipelines, each a module with a Boutiques descriptor beside it."""
