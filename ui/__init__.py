"""The one shared UI layer: URL-bound controls, cached runs with progress, chart builders."""
