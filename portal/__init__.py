"""Dealer ordering portal: a supplier's B2B ordering corner, mobile first."""
