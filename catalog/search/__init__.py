"""Search backends (tantivy embedded, Elasticsearch) behind one small interface."""
