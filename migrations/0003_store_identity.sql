-- What a store belongs to: the keeper key, the cluster (genesis hash) and the program. A keeper
-- refuses a store bound to another, instead of mixing two logs or rebroadcasting foreign intents.
CREATE TABLE IF NOT EXISTS store_identity (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
