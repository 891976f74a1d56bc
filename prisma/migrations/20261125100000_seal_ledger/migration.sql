-- Closes three ways around the ledger's invariants that the first migration left open:
-- an entry with no postings, postings added to an entry after its transaction committed, and
-- TRUNCATE (which row triggers do not see).

-- An entry needs at least two postings, checked at commit like the balance.
CREATE FUNCTION ledger_entry_has_postings() RETURNS trigger AS $$
DECLARE
    n INTEGER;
BEGIN
    SELECT COUNT(*) INTO n FROM "Posting" WHERE "entryId" = NEW."id";
    IF n < 2 THEN
        RAISE EXCEPTION 'LEDGER.UNBALANCED: entry % has % postings', NEW."id", n
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER "JournalEntry_has_postings"
    AFTER INSERT ON "JournalEntry"
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_has_postings();

-- An entry is sealed when its transaction commits: postings may only be added by the transaction
-- that created the entry (its row's xmin is this transaction's id).
CREATE FUNCTION ledger_entry_open() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM "JournalEntry"
         WHERE "id" = NEW."entryId" AND "xmin"::text = (pg_current_xact_id()::text::bigint % 4294967296)::text
    ) THEN
        RAISE EXCEPTION 'LEDGER.ENTRY_SEALED: entry % was committed or does not exist', NEW."entryId"
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "Posting_entry_open" BEFORE INSERT ON "Posting"
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_open();

CREATE TRIGGER "Posting_no_truncate" BEFORE TRUNCATE ON "Posting"
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER "JournalEntry_no_truncate" BEFORE TRUNCATE ON "JournalEntry"
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
