"""Open data in and out: FIWARE NGSI notifications received, city data shared."""
