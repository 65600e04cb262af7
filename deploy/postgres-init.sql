-- Runs once, when the PostgreSQL volume is new: Prefect's own database beside dondoc's.
CREATE DATABASE prefect OWNER dondoc;
