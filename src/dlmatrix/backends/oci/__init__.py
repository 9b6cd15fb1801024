"""Container engines: the engine's CLI, base images, Dockerfiles rendered from templates, image
identity, upstream build stages, the budget of attempts, the container backend and prune."""
