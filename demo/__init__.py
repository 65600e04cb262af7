"""The one-command demo: a simulated year of the Cao Lộc plan, with local message sinks."""
