-- Placeholder so that this branch (issue #12, whose migration is 0006)
-- migrates without a gap. Version 5 belongs to issue #11: when merging,
-- take issue #11's 0005_elastic.sql and drop this file's content.
SELECT 1;
