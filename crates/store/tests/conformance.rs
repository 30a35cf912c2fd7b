//! One suite, two backends: every case in `suite` runs against a fresh SQLite file and a fresh
//! PostgreSQL database, so both implementations of `Store` keep the same contract.
//!
//! The PostgreSQL half needs the server on 127.0.0.1:5432 (user `postgres`, trust auth); each
//! test creates its own database and drops it afterwards.

mod suite;

/// Generates `sqlite::<case>` and `postgres::<case>` tests from `module::case` paths.
macro_rules! conformance {
    ($($module:ident :: $case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    crate::suite::harness::on_sqlite(|s| Box::pin(crate::suite::$module::$case(s)))
                        .await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    crate::suite::harness::on_postgres(|s| {
                        Box::pin(crate::suite::$module::$case(s))
                    })
                    .await;
                }
            )*
        }
    };
}

conformance! {
    control::developers_and_apps,
    control::duplicate_developer_email_conflicts,
    control::app_keys_by_digest,
    control::tenants,
    control::connections_upsert_and_delete,
    control::clients_enable_and_disable,
    control::client_grant_follows_the_connection,
    control::signing_keys_newest_first,
    control::audit_events_since,
    control::rate_hits_admit_the_limit_per_span,
    control::purging_keeps_entries_still_in_their_span,
    lifecycle::users_by_id_email_and_tenant,
    lifecycle::sessions_expire_and_end,
    lifecycle::apps_by_developer,
    lifecycle::rotating_an_app_key_ends_the_others,
    lifecycle::client_grant_knows_whether_an_app_key_is_live,
    lifecycle::connections_and_clients_by_app_and_tenant,
    lifecycle::secret_slots_fill_and_empty,
    lifecycle::audit_filters_by_tenant_app_and_time,
    lifecycle::rate_peek_counts_without_admitting,
    lifecycle::a_sign_up_is_one_write,
    records::put_replace_and_get,
    records::put_many_records_in_one_call,
    records::record_sets_and_counts,
    records::copy_dataset_replaces_the_target,
    records::copy_dataset_keeps_a_target_sequence_that_is_ahead,
    records::allocate_ids_consecutively,
    records::allocate_ids_concurrently,
    lists::ids_and_active,
    lists::time_bounds_and_parent,
    lists::field_filters,
    lists::sorts,
    lists::paging_and_totals,
    lists::bad_property_names_are_invalid,
    export::export_from_start_after_and_since,
    export::export_walk_returns_every_record_once,
    refresh::a_staged_copy_is_invisible_until_published,
    refresh::a_discarded_stage_leaves_the_served_copy,
    refresh::one_refresh_job_per_tenant_and_a_minimum_interval,
    refresh::integration_settings_round_trip,
}
