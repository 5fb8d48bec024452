"""Blueprints per audience: public, auth, admin, coop, consumer, regulator."""
