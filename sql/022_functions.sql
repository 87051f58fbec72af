-- 022_functions.sql - functions live in sql/functions/, one file each,
-- applied with CREATE OR REPLACE after the migrations at every start
-- (docs/hacking.md, docs/decisions.md). Migrations keep tables and data.
--
-- Before, 005 and 023 added members to the agent and check objects by
-- renaming the old function and wrapping it. agent_json() and check_json()
-- are now written whole (sql/functions/), so the wrapped ones go. A
-- database made from the migrations as they are now never had them: hence
-- IF EXISTS. No function calls them any more (the new agent_json() and
-- check_json() replace the wrappers in the same transaction).
DROP FUNCTION IF EXISTS agent_json_before_005(agents);
DROP FUNCTION IF EXISTS agent_json_before_023(agents);
DROP FUNCTION IF EXISTS check_json_before_005(checks);
DROP FUNCTION IF EXISTS check_json_before_023(checks);
