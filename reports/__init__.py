"""The consolidated report: aggregation, content and rendering to documents."""
