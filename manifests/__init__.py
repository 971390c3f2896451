"""The example agency manifest and the Slack app manifests, shipped with the package."""
