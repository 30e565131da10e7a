import Foundation
import GRDB
import KonnectConfig

/// One stored entity: its object as the Admin API shows it, with the columns SQLite enforces.
public struct StoredEntity: Sendable, Hashable {
    public var kind: EntityKind
    public var id: String
    /// The value of the kind's unique field (name, username), kept unique by SQLite.
    public var uniqueName: String?
    /// Ids of the entities this one refers to.
    public var references: [EntityReferenceField: String]
    /// Seconds since 1970.
    public var createdAt: Int
    public var updatedAt: Int
    /// The entity's JSON object (`Entity.json(createdAt:updatedAt:)`).
    public var json: String

    public init(kind: EntityKind, id: String, uniqueName: String?, references: [EntityReferenceField: String],
                createdAt: Int, updatedAt: Int, json: String) {
        self.kind = kind
        self.id = id
        self.uniqueName = uniqueName
        self.references = references
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.json = json
    }
}

/// A change to the store; a list of them is written in one transaction.
public enum StoreOperation: Sendable {
    /// Inserts the entity, or replaces the one with its id (keeping its place in the order).
    case put(StoredEntity)
    case delete(EntityKind, id: String)
    /// Removes every entity (the first step of replacing the whole configuration).
    case deleteAll
}

/// Konnect's embedded database: SQLite in WAL mode under the data directory, one table per kind
/// of entity. Every write is one transaction and is flushed to disk before it returns, so an
/// acknowledged change survives the process being killed right after.
public final class SQLiteStore: Sendable {
    public let path: String
    private let pool: DatabasePool

    /// The file's name inside the data directory.
    public static let fileName = "konnect.db"

    /// Opens (creating when needed) the database in `directory`. The schema is not touched:
    /// call `migrate()`.
    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        var configuration = GRDB.Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // FULL: each commit is on disk (the WAL fsynced) before the write returns.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
    }

    // MARK: Schema

    /// A table for one kind: id, the unique name when the kind has one, `columns`, the times
    /// and the entity's JSON.
    private static func entityTable(_ kind: EntityKind, in db: Database, _ columns: (TableDefinition) -> Void) throws {
        try db.create(table: kind.rawValue) { table in
            table.column("id", .text).primaryKey()
            if kind.uniqueField != nil { table.column("name", .text).unique() }
            columns(table)
            table.column("created_at", .integer).notNull()
            table.column("updated_at", .integer).notNull()
            table.column("entity", .text).notNull()
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("001_entities") { db in
            func entityTable(_ kind: EntityKind, _ columns: (TableDefinition) -> Void) throws {
                try Self.entityTable(kind, in: db, columns)
            }
            try entityTable(.services) { _ in }
            try entityTable(.routes) { table in
                // Kong refuses to delete a service that routes still use.
                table.column("service_id", .text).references("services", onDelete: .restrict).indexed()
            }
            try entityTable(.upstreams) { _ in }
            try entityTable(.targets) { table in
                table.column("upstream_id", .text).notNull().references("upstreams", onDelete: .cascade).indexed()
            }
            try entityTable(.consumers) { _ in }
            try entityTable(.plugins) { table in
                table.column("service_id", .text).references("services", onDelete: .cascade).indexed()
                table.column("route_id", .text).references("routes", onDelete: .cascade).indexed()
                table.column("consumer_id", .text).references("consumers", onDelete: .cascade).indexed()
            }
        }
        migrator.registerMigration("002_credentials_certificates") { db in
            // Credentials go with their consumer, SNIs with their certificate (as Kong deletes them).
            for kind in [EntityKind.keyAuthCredentials, .basicAuthCredentials, .jwtSecrets, .acls] {
                try entityTable(kind, in: db) { table in
                    table.column("consumer_id", .text).notNull().references("consumers", onDelete: .cascade).indexed()
                }
            }
            try entityTable(.certificates, in: db) { _ in }
            try entityTable(.snis, in: db) { table in
                table.column("certificate_id", .text).notNull().references("certificates", onDelete: .cascade).indexed()
            }
            try entityTable(.caCertificates, in: db) { _ in }
        }
        migrator.registerMigration("003_service_client_certificate") { db in
            // Kong refuses to delete a certificate that a service presents to its upstream.
            try db.alter(table: EntityKind.services.rawValue) { table in
                table.add(column: "client_certificate_id", .text).references("certificates", onDelete: .restrict)
            }
            try db.create(index: "services_on_client_certificate_id", on: "services", columns: ["client_certificate_id"])
        }
        migrator.registerMigration("004_ai_models") { db in
            // The AI gateway's models, unique by name; they refer to nothing.
            try entityTable(.aiModels, in: db) { _ in }
        }
        migrator.registerMigration("005_consumer_groups") { db in
            // Groups are unique by name; a membership goes with its group or its consumer, and a
            // consumer is in a group at most once.
            try entityTable(.consumerGroups, in: db) { _ in }
            try entityTable(.consumerGroupConsumers, in: db) { table in
                table.column("consumer_group_id", .text).notNull().references("consumer_groups", onDelete: .cascade).indexed()
                table.column("consumer_id", .text).notNull().references("consumers", onDelete: .cascade).indexed()
                table.uniqueKey(["consumer_group_id", "consumer_id"])
            }
        }
        migrator.registerMigration("006_plugins_consumer_group") { db in
            // A plugin scoped to a consumer group goes with the group.
            try db.alter(table: EntityKind.plugins.rawValue) { table in
                table.add(column: "consumer_group_id", .text).references("consumer_groups", onDelete: .cascade)
            }
            try db.create(index: "plugins_on_consumer_group_id", on: "plugins", columns: ["consumer_group_id"])
        }
        return migrator
    }

    /// Brings the schema up to date.
    public func migrate() throws {
        try Self.migrator.migrate(pool)
    }

    /// Applies the migrations up to and including `last` only: a database as an older Konnect
    /// left it, for tests of what migrating it does.
    func migrate(upTo last: String) throws {
        try Self.migrator.migrate(pool, upTo: last)
    }

    /// Migrations applied and still to apply, by name.
    public func migrationStatus() throws -> (applied: [String], pending: [String]) {
        let migrator = Self.migrator
        let applied = try pool.read { db in try migrator.appliedMigrations(db) }
        return (applied, migrator.migrations.filter { !applied.contains($0) })
    }

    /// A number that changes whenever another process commits to the database: SQLite's
    /// `data_version` on this store's writing connection, which its own commits leave alone.
    public func externalVersion() throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
    }

    // MARK: Reading and writing

    /// Every stored entity, kind by kind in `EntityKind` order, each kind in the order its
    /// entities were first stored.
    public func loadAll() throws -> [StoredEntity] {
        try pool.read { db in
            var result: [StoredEntity] = []
            for kind in EntityKind.allCases {
                let referenceColumns = kind.referenceFields
                let rows = try Row.fetchCursor(db, sql: "SELECT * FROM \(kind.rawValue) ORDER BY rowid")
                while let row = try rows.next() {
                    var references: [EntityReferenceField: String] = [:]
                    for field in referenceColumns {
                        if let id: String = row["\(field.rawValue)_id"] { references[field] = id }
                    }
                    result.append(StoredEntity(
                        kind: kind, id: row["id"], uniqueName: kind.uniqueField == nil ? nil : row["name"],
                        references: references, createdAt: row["created_at"], updatedAt: row["updated_at"],
                        json: row["entity"]
                    ))
                }
            }
            return result
        }
    }

    /// Applies `operations` in order, in one transaction: all of them or none.
    public func write(_ operations: [StoreOperation]) throws {
        try pool.write { db in
            for operation in operations {
                switch operation {
                case .put(let entity):
                    try Self.put(entity, in: db)
                case .delete(let kind, let id):
                    try db.execute(sql: "DELETE FROM \(kind.rawValue) WHERE id = ?", arguments: [id])
                case .deleteAll:
                    for kind in EntityKind.allCases.reversed() {
                        try db.execute(sql: "DELETE FROM \(kind.rawValue)")
                    }
                }
            }
        }
    }

    private static func put(_ entity: StoredEntity, in db: Database) throws {
        var columns = ["id", "created_at", "updated_at", "entity"]
        var values: [(any DatabaseValueConvertible)?] = [entity.id, entity.createdAt, entity.updatedAt, entity.json]
        if entity.kind.uniqueField != nil {
            columns.append("name")
            values.append(entity.uniqueName)
        }
        for field in entity.kind.referenceFields {
            columns.append("\(field.rawValue)_id")
            values.append(entity.references[field])
        }
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        let updates = columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        try db.execute(
            sql: "INSERT INTO \(entity.kind.rawValue) (\(columns.joined(separator: ", "))) VALUES (\(placeholders)) "
                + "ON CONFLICT(id) DO UPDATE SET \(updates)",
            arguments: StatementArguments(values)
        )
    }
}
