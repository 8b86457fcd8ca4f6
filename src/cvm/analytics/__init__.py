"""Engine-neutral analytics: Ibis expressions over the workspace's tables."""
