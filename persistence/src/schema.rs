// The one schema of both backends; `migrations/postgres` and `migrations/sqlite` must produce it
// (checked by the schema comparison test).

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        routing_rules -> Nullable<Text>,
        acknowledgment_texts -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    staff_members (id) {
        id -> Text,
        organization_id -> Text,
        display_name -> Text,
        role -> Text,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    patients (id) {
        id -> Text,
        organization_id -> Text,
        display_name -> Text,
        external_id -> Nullable<Text>,
        assigned_clinician_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    credentials (principal_id) {
        principal_id -> Text,
        principal_kind -> Text,
        organization_id -> Text,
        email -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        family_id -> Text,
        principal_id -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Closed conversations of each organization, per team, kept by triggers (migration 27).
    closed_conversation_counts (organization_id) {
        organization_id -> Text,
        care_team -> BigInt,
        support -> BigInt,
    }
}

diesel::table! {
    conversations (id) {
        id -> Text,
        organization_id -> Text,
        patient_id -> Text,
        team -> Text,
        status -> Text,
        urgent -> Bool,
        category -> Nullable<Text>,
        matched_rules -> Text,
        assigned_to -> Nullable<Text>,
        claimed_by -> Nullable<Text>,
        claimed_at -> Nullable<Timestamp>,
        last_activity_at -> Timestamp,
        last_message_at -> Timestamp,
        last_message_preview -> Text,
        unanswered_since -> Nullable<Timestamp>,
        created_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        newest_message_at -> Timestamp,
        newest_message_author_id -> Nullable<Text>,
        newest_other_message_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        conversation_id -> Text,
        organization_id -> Text,
        kind -> Text,
        author_id -> Nullable<Text>,
        body -> Text,
        client_message_id -> Nullable<Text>,
        in_reply_to -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    conversation_events (id) {
        id -> Text,
        conversation_id -> Text,
        organization_id -> Text,
        kind -> Text,
        actor_id -> Nullable<Text>,
        details -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(staff_members -> organizations (organization_id));
diesel::joinable!(patients -> organizations (organization_id));
diesel::joinable!(patients -> staff_members (assigned_clinician_id));
diesel::joinable!(conversations -> patients (patient_id));
diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(conversation_events -> conversations (conversation_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_events,
    organizations,
    staff_members,
    patients,
    credentials,
    refresh_tokens,
    conversations,
    messages,
    conversation_events,
);

diesel::table! {
    audit_events (id) {
        id -> Text,
        organization_id -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        action -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        client_address -> Nullable<Text>,
        occurred_at -> Timestamp,
    }
}

// The live inbox (migration `000003_live`).

diesel::table! {
    inbox_events (id) {
        id -> BigInt,
        organization_id -> Text,
        conversation_id -> Text,
        patient_id -> Text,
        team -> Text,
        kind -> Text,
        internal -> Bool,
        payload -> Text,
        created_at -> Timestamp,
        tx -> BigInt,
    }
}

diesel::table! {
    read_markers (principal_id, conversation_id) {
        principal_id -> Text,
        conversation_id -> Text,
        last_read_at -> Timestamp,
    }
}

diesel::table! {
    webhook_subscriptions (organization_id) {
        organization_id -> Text,
        url -> Text,
        secret -> Text,
        active -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        organization_id -> Text,
        event -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(read_markers, messages);
diesel::allow_tables_to_appear_in_same_query!(read_markers, conversations);
