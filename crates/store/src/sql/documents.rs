//! SQL for documents: the original bytes beside the item made from them.

use sqlx::Row;

use super::{SqlStore, items};
use crate::documents::{Document, DocumentReading, DocumentStore, NewDocumentItem};
use crate::*;

const DOCUMENT_COLUMNS: &str = "id, item_id, automation_id, file_name, media_type, sha256, size_bytes, \
     pages, ocr_pages, layout, created_at, purged_at, parent_item_id, notes, read_at";

fn document(row: &sqlx::any::AnyRow) -> Result<Document> {
    Ok(Document {
        id: row.try_get("id")?,
        item_id: ItemId(row.try_get("item_id")?),
        automation_id: AutomationId(row.try_get("automation_id")?),
        file_name: row.try_get("file_name")?,
        media_type: row.try_get("media_type")?,
        sha256: row.try_get("sha256")?,
        size_bytes: row.try_get("size_bytes")?,
        pages: row.try_get("pages")?,
        ocr_pages: row.try_get("ocr_pages")?,
        layout: row.try_get("layout")?,
        created_at: row.try_get("created_at")?,
        purged_at: row.try_get("purged_at")?,
        parent_item_id: row.try_get::<Option<i64>, _>("parent_item_id")?.map(ItemId),
        notes: row.try_get("notes")?,
        read_at: row.try_get("read_at")?,
    })
}

#[async_trait::async_trait]
impl DocumentStore for SqlStore {
    async fn insert_documents(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        entries: &[NewDocumentItem],
        now: Millis,
    ) -> Result<Vec<Inserted>> {
        let mut tx = self.write_tx().await?;
        let owned: Option<i64> =
            sqlx::query_scalar("SELECT id FROM automations WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(automation.0)
                .fetch_optional(&mut *tx)
                .await?;
        if owned.is_none() {
            return Err(StoreError::NotFound("automation"));
        }
        let mut out: Vec<Inserted> = Vec::with_capacity(entries.len());
        for entry in entries {
            items::insert_chunk(
                &mut tx,
                ws,
                automation,
                std::slice::from_ref(&entry.item),
                now,
                &mut out,
            )
            .await?;
            let Some(inserted) = out.last() else {
                return Err(StoreError::NotFound("item"));
            };
            if !inserted.created {
                continue;
            }
            let parent = entry.parent.and_then(|i| out.get(i)).map(|p| p.item.id.0);
            let doc = &entry.document;
            sqlx::query(
                "INSERT INTO documents (workspace_id, automation_id, item_id, file_name, media_type, sha256,
                     size_bytes, pages, ocr_pages, layout, content, created_at, parent_item_id, notes, read_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(ws.0)
            .bind(automation.0)
            .bind(inserted.item.id.0)
            .bind(&doc.file_name)
            .bind(&doc.media_type)
            .bind(&doc.sha256)
            .bind(i64::try_from(doc.content.len()).unwrap_or(i64::MAX))
            .bind(doc.pages)
            .bind(doc.ocr_pages)
            .bind(doc.layout.as_deref())
            .bind(&doc.content)
            .bind(now)
            .bind(parent)
            .bind(doc.notes.as_deref())
            .bind(doc.read.then_some(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn linked_documents(&self, ws: WorkspaceId, item: ItemId) -> Result<Vec<Document>> {
        let sql = format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE workspace_id = $1 AND parent_item_id = $2 ORDER BY id"
        );
        sqlx::query(&sql)
            .bind(ws.0)
            .bind(item.0)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(document)
            .collect()
    }

    async fn item_by_key(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        key: &str,
    ) -> Result<Option<ItemId>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM items WHERE workspace_id = $1 AND automation_id = $2 AND idempotency_key = $3",
        )
        .bind(ws.0)
        .bind(automation.0)
        .bind(key)
        .fetch_optional(&self.reader)
        .await?;
        Ok(id.map(ItemId))
    }

    async fn item_document(&self, ws: WorkspaceId, item: ItemId) -> Result<Option<Document>> {
        let sql =
            format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE workspace_id = $1 AND item_id = $2");
        sqlx::query(&sql)
            .bind(ws.0)
            .bind(item.0)
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(document)
            .transpose()
    }

    async fn document_content(&self, ws: WorkspaceId, item: ItemId) -> Result<Option<Vec<u8>>> {
        let content: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT content FROM documents WHERE workspace_id = $1 AND item_id = $2")
                .bind(ws.0)
                .bind(item.0)
                .fetch_optional(&self.reader)
                .await?;
        match content {
            None => Err(StoreError::NotFound("document")),
            Some(c) => Ok(c),
        }
    }

    async fn record_reading(
        &self,
        ws: WorkspaceId,
        item: ItemId,
        reading: &DocumentReading,
        now: Millis,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let marked = sqlx::query(
            "UPDATE documents SET pages = $3, ocr_pages = $4, layout = $5, read_at = $6
             WHERE workspace_id = $1 AND item_id = $2 AND read_at IS NULL",
        )
        .bind(ws.0)
        .bind(item.0)
        .bind(reading.pages)
        .bind(reading.ocr_pages)
        .bind(reading.layout.as_deref())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("UPDATE items SET input = $3, preview = $4 WHERE workspace_id = $1 AND id = $2")
            .bind(ws.0)
            .bind(item.0)
            .bind(&reading.input)
            .bind(&reading.preview)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn mailbox_cursor(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        mailbox: &str,
    ) -> Result<Option<(i64, i64)>> {
        let row = sqlx::query(
            "SELECT uid_validity, last_uid FROM mailbox_cursors
             WHERE workspace_id = $1 AND automation_id = $2 AND mailbox = $3",
        )
        .bind(ws.0)
        .bind(automation.0)
        .bind(mailbox)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|r| Ok((r.try_get("uid_validity")?, r.try_get("last_uid")?)))
            .transpose()
    }

    async fn set_mailbox_cursor(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        mailbox: &str,
        uid_validity: i64,
        last_uid: i64,
        now: Millis,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO mailbox_cursors (workspace_id, automation_id, mailbox, uid_validity, last_uid, updated_at)
             SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS
                 (SELECT 1 FROM automations WHERE workspace_id = $1 AND id = $2)
             ON CONFLICT (workspace_id, automation_id, mailbox) DO UPDATE
             SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid,
                 updated_at = excluded.updated_at
             WHERE mailbox_cursors.uid_validity <> excluded.uid_validity
                OR mailbox_cursors.last_uid < excluded.last_uid",
        )
        .bind(ws.0)
        .bind(automation.0)
        .bind(mailbox)
        .bind(uid_validity)
        .bind(last_uid)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn purge_documents(&self, ws: WorkspaceId, before: Millis, now: Millis) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE documents SET content = NULL, purged_at = $3
             WHERE workspace_id = $1 AND created_at < $2 AND purged_at IS NULL AND read_at IS NOT NULL",
        )
        .bind(ws.0)
        .bind(before)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }
}
