"""Leads after they are registered: coverage by district, the funnel, follow-up."""
