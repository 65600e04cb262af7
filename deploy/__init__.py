"""How dondoc is started: settings, deployments, server set-up."""
