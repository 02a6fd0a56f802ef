"""What the map says: R value and tiers, the influence area, the customer profile, white space."""
