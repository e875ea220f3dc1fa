"""The catalog domain: the ``dbt_like_sql`` models as assets, their tests as asset checks."""
