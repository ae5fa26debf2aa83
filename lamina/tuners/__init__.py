from lamina.tuners.population import Population  # noqa: F401
