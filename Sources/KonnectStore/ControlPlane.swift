import Foundation
import KonnectConfig

/// The node's configuration as entities, and the only way to change it.
///
/// Holds every entity in memory, indexed by id and unique name, so that reads and checks never
/// touch the database. A change is validated (fields with the declarative file's rules, then
/// references and unique names), written to the store in one transaction, applied in memory,
/// and then handed to `publish`, which swaps a new snapshot into the data plane. A change that
/// fails any step changes nothing. Being an actor, it applies one change at a time.
public actor ControlPlane {
    /// An entity with the times the store records.
    public struct Record: Sendable {
        public var entity: Entity
        public var createdAt: Int
        public var updatedAt: Int
        /// A certificate's SNI names, sorted (Kong's `snis` pseudo-field); nil for other kinds.
        public var snis: [String]?

        public init(entity: Entity, createdAt: Int, updatedAt: Int, snis: [String]? = nil) {
            self.entity = entity
            self.createdAt = createdAt
            self.updatedAt = updatedAt
            self.snis = snis
        }

        /// The entity as the Admin API shows it.
        public var json: JSONValue {
            var json = entity.json(createdAt: createdAt, updatedAt: updatedAt)
            if let snis, case .object(var fields) = json {
                fields["snis"] = .array(snis.map(JSONValue.string))
                json = .object(fields)
            }
            return json
        }
    }

    /// One page of a listing.
    public struct Page: Sendable {
        public var records: [Record]
        /// Where the next page starts, when there is one.
        public var nextOffset: String?
    }

    /// Where an entity sits in a nested endpoint (`/services/{s}/routes`): the field that must
    /// refer to the parent, and the parent's id or name.
    public struct Scope: Sendable {
        public var field: EntityReferenceField
        public var parent: String

        public init(field: EntityReferenceField, parent: String) {
            self.field = field
            self.parent = parent
        }
    }

    private let store: SQLiteStore?
    private let publish: @Sendable (Configuration) async throws -> Void
    /// Every entity, as the data plane gets it: kept up to date change by change (rebuilding it
    /// from a list of entities costs more than compiling the router).
    var current = Configuration()
    /// Where each entity is in `current`, and its times; per kind, by id.
    private var slots: [EntityKind: [String: Slot]] = [:]
    /// Unique name (EntityKind.uniqueField) → id, per kind.
    private var names: [EntityKind: [String: String]] = [:]
    /// The store's `externalVersion` when it was last loaded.
    private var knownExternalVersion: Int?
    /// The clock for created_at/updated_at (seconds); replaceable in tests.
    let now: @Sendable () -> Int

    private struct Slot {
        var position: Int
        var createdAt: Int
        var updatedAt: Int
    }

    /// Whether entities can be written one by one (database mode), or only replaced as a whole
    /// (`replaceAll`, declarative mode).
    public var isDatabaseMode: Bool { store != nil }

    /// A control plane over `store` (database mode), or over nothing (declarative mode, when
    /// `store` is nil). `publish` receives each new configuration.
    public init(store: SQLiteStore?, now: @escaping @Sendable () -> Int = { Int(Date().timeIntervalSince1970) },
                publish: @escaping @Sendable (Configuration) async throws -> Void) {
        self.store = store
        self.now = now
        self.publish = publish
    }

    // MARK: Loading

    /// Reads every stored entity, validating each as a write would. Entities that no longer
    /// read are reported, not silently dropped: the node does not start on a store it
    /// cannot trust.
    public func loadFromStore() throws -> Configuration {
        guard let store else { return configuration }
        knownExternalVersion = try store.externalVersion()
        var problems: [String] = []
        var loaded: [Record] = []
        for stored in try store.loadAll() {
            let object: JSONValue
            do {
                object = try JSONValue.parse(stored.json)
            } catch {
                problems.append("\(stored.kind.rawValue) \(stored.id): unreadable JSON (\(error))")
                continue
            }
            let input = EntityInput.read(stored.kind, from: object)
            guard var entity = input.entity else {
                problems.append("\(stored.kind.rawValue) \(stored.id): " + input.issues.map(\.description).joined(separator: "; "))
                continue
            }
            entity.id = stored.id
            entity = entity.settingReferences(stored.references)
            loaded.append(Record(entity: entity, createdAt: stored.createdAt, updatedAt: stored.updatedAt))
        }
        guard problems.isEmpty else { throw StoreLoadError(problems: problems) }
        reset(to: loaded)
        return configuration
    }

    /// Whether the database answers (always true for a node without one).
    public func storeIsReachable() -> Bool {
        guard let store else { return true }
        return (try? store.externalVersion()) != nil
    }

    /// Reloads and publishes the store's contents when another process has written to it since
    /// the last load (`konnect config apply` on a running node's database); returns whether it
    /// did. A store that no longer reads leaves the running configuration in place.
    public func reloadIfChangedElsewhere() async throws -> Bool {
        guard let store, let known = knownExternalVersion else { return false }
        guard try store.externalVersion() != known else { return false }
        try await publish(try loadFromStore())
        return true
    }

    /// Takes `configuration` as the current one without storing or publishing it: what a
    /// declarative node starts with (the proxy is built with it).
    public func adopt(_ configuration: Configuration) {
        let time = now()
        reset(to: configuration.entities.map { Record(entity: $0, createdAt: time, updatedAt: time) })
    }

    /// The configuration the data plane should run, every kind in creation order.
    public var configuration: Configuration { current }

    private func reset(to loaded: [Record]) {
        current = Configuration()
        slots = [:]
        names = [:]
        for record in loaded { remember(record) }
    }

    /// The entity with `id`, with its times.
    func record(_ kind: EntityKind, _ id: String) -> Record? {
        guard let slot = slots[kind]?[id] else { return nil }
        return Record(entity: current.entity(kind, at: slot.position), createdAt: slot.createdAt, updatedAt: slot.updatedAt)
    }

    func remember(_ record: Record) {
        let kind = record.entity.kind
        let id = record.entity.id
        if let name = self.record(kind, id)?.entity.uniqueName { names[kind]?[name] = nil }
        let position = current.put(record.entity, at: slots[kind]?[id]?.position)
        slots[kind, default: [:]][id] = Slot(position: position, createdAt: record.createdAt, updatedAt: record.updatedAt)
        if let name = record.entity.uniqueName { names[kind, default: [:]][name] = id }
    }

    func forget(_ kind: EntityKind, id: String) {
        guard let record = record(kind, id), let slot = slots[kind]?.removeValue(forKey: id) else { return }
        if let name = record.entity.uniqueName { names[kind]?[name] = nil }
        current.remove(kind, at: slot.position)
        let ids = current.ids(of: kind)
        for position in slot.position..<ids.count { slots[kind]?[ids[position]]?.position = position }
    }

    // MARK: Reading

    /// The entity `key` names: its id, or its unique name (under a consumer, an ACL's group too).
    public func find(_ kind: EntityKind, _ key: String, in scope: Scope? = nil) throws(EntityError) -> Record {
        if let scope {
            let parent = try parentID(of: scope)
            if let record = lookUp(kind, .idOrName(key)), record.entity.references[scope.field] == parent {
                return withSNIs(record)
            }
            if kind == .acls, let acl = current.acls.first(where: { $0.consumerID == parent && $0.group == key }) {
                return record(kind, acl.id)!
            }
            throw .notFound()
        }
        guard let record = lookUp(kind, .idOrName(key)) else { throw .notFound() }
        return withSNIs(record)
    }

    /// The record with its certificate's SNI names, for a certificate.
    private func withSNIs(_ record: Record) -> Record {
        guard case .certificate(let certificate) = record.entity else { return record }
        var record = record
        record.snis = current.snis.filter { $0.certificateID == certificate.id }.map(\.name).sorted()
        return record
    }

    /// A page of the entities of `kind` (those under `scope`'s parent when given) that carry
    /// all of `tags` (`matchAll`) or any of them.
    public func list(_ kind: EntityKind, in scope: Scope? = nil, tags: [String] = [], matchAll: Bool = true,
                     size: Int = 100, offset: String? = nil) throws(EntityError) -> Page {
        let parent = try scope.map { scope throws(EntityError) in (scope.field, try parentID(of: scope)) }
        // Entities in the order they were created: the order of listings and snapshots.
        let ids = current.ids(of: kind)
        var start = 0
        if let offset {
            guard let position = ids.firstIndex(of: offset) else {
                throw .coded(400, .invalidOffset, name: "invalid offset", message: "'\(offset)' is not a valid offset")
            }
            start = position
        }
        var page: [Record] = []
        var next: String?
        for id in ids[start...] {
            guard let record = record(kind, id) else { continue }
            if let (field, parentID) = parent, record.entity.references[field] != parentID { continue }
            if !tags.isEmpty {
                let entityTags = Set(record.entity.tags)
                let matches = matchAll ? tags.allSatisfy(entityTags.contains) : tags.contains(where: entityTags.contains)
                if !matches { continue }
            }
            if page.count == size {
                next = id
                break
            }
            page.append(withSNIs(record))
        }
        return Page(records: page, nextOffset: next)
    }

    // MARK: Writing

    /// Checks a body as `create` would, without storing anything
    /// (`POST /schemas/{entities}/validate`).
    public func validate(_ kind: EntityKind, body: JSONValue) throws(EntityError) {
        _ = try resolved(EntityInput.read(kind, from: body))
    }

    /// Creates an entity from a request body (POST). An id in the body is kept; otherwise one
    /// is generated.
    public func create(_ kind: EntityKind, body: JSONValue, in scope: Scope? = nil) async throws(EntityError) -> Record {
        try requireDatabase(kind, verb: "create")
        let body = try scoped(body, in: scope)
        let input = EntityInput.read(kind, from: body)
        var entity = try resolved(input)
        if input.hasGivenID {
            if slots[kind]?[entity.id] != nil { throw .primaryKeyViolation(id: entity.id) }
        } else {
            entity.id = UUID().uuidString.lowercased()
        }
        let time = now()
        return try await save(Record(entity: entity, createdAt: time, updatedAt: time), sniNames: input.sniNames)
    }

    /// Creates or replaces the entity `key` names (PUT): a UUID is taken as the id, anything
    /// else as the unique name. The body describes the whole entity; what it leaves out gets
    /// its default.
    public func upsert(_ kind: EntityKind, _ key: String, body: JSONValue, in scope: Scope? = nil) async throws(EntityError) -> Record {
        try requireDatabase(kind, verb: "update")
        guard case .object(var fields) = try scoped(body, in: scope) else {
            throw .schemaViolation([ConfigIssue(path: "", expected: "a JSON object")])
        }
        let existing = lookUp(kind, .idOrName(key))
        if Self.isUUID(key) {
            fields["id"] = .string(key.lowercased())
        } else {
            guard let uniqueField = kind.uniqueField else { throw .notFound() }
            fields[uniqueField] = .string(key)
            fields["id"] = existing.map { .string($0.entity.id) } ?? .null
        }
        let input = EntityInput.read(kind, from: .object(fields))
        var entity = try resolved(input)
        if !input.hasGivenID { entity.id = UUID().uuidString.lowercased() }
        let time = now()
        let createdAt = slots[kind]?[entity.id]?.createdAt ?? time
        return try await save(Record(entity: entity, createdAt: createdAt, updatedAt: time), sniNames: input.sniNames)
    }

    /// Changes the fields a body gives of an existing entity (PATCH).
    public func update(_ kind: EntityKind, _ key: String, body: JSONValue, in scope: Scope? = nil) async throws(EntityError) -> Record {
        try requireDatabase(kind, verb: "update")
        let existing = try find(kind, key, in: scope)
        guard case .object(let changes) = body else {
            throw .schemaViolation([ConfigIssue(path: "", expected: "a JSON object")])
        }
        if let id = changes["id"], id != .string(existing.entity.id) {
            throw .schemaViolation([ConfigIssue(path: "id", expected: "the entity's own id (ids cannot change)")])
        }
        guard case .object(var fields) = existing.json else { throw .notFound() }
        if kind == .services, changes["url"] != nil {
            for key in ["protocol", "host", "port", "path"] { fields[key] = nil }
        }
        for (key, value) in changes {
            if key == "config", case .object(let base)? = fields[key], case .object(let patch) = value {
                fields[key] = .object(base.merging(patch) { $1 })
            } else {
                fields[key] = value
            }
        }
        let input = EntityInput.read(kind, from: try scoped(.object(fields), in: scope))
        var entity = try resolved(input)
        entity.id = existing.entity.id
        return try await save(Record(entity: entity, createdAt: existing.createdAt, updatedAt: now()), sniNames: input.sniNames)
    }

    /// Deletes the entity `key` names, with what Kong deletes along with it (a service's or
    /// route's or consumer's plugins, an upstream's targets). A service that routes still use is
    /// not deleted. Deleting what does not exist succeeds.
    public func delete(_ kind: EntityKind, _ key: String, in scope: Scope? = nil) async throws(EntityError) {
        try requireDatabase(kind, verb: "delete")
        let record: Record
        do {
            record = try find(kind, key, in: scope)
        } catch {
            if error.status == 404 { return }
            throw error
        }
        let id = record.entity.id
        // What goes with it: plugins of a service, route or consumer, a consumer's credentials,
        // an upstream's targets, a certificate's SNIs. A service that routes use, a certificate
        // that services present and a CA certificate that services trust stay.
        var removals: [(EntityKind, String)] = []
        for childKind in EntityKind.allCases {
            for field in childKind.referenceFields where field.kind == kind {
                for child in current.entities(of: childKind) where child.references[field] == id {
                    guard childKind.goesWithParent(through: field) else { throw .referencedBy(childKind, parent: kind) }
                    removals.append((childKind, child.id))
                }
            }
        }
        if kind == .caCertificates, current.services.contains(where: { $0.caCertificateIDs.contains(id) }) {
            throw .referencedBy(.services, parent: kind)
        }
        removals.append((kind, id))
        try await commit(removals.map { StoreOperation.delete($0.0, id: $0.1) }) {
            for (kind, id) in removals { forget(kind, id: id) }
        }
    }

    /// Replaces the whole configuration (declarative `POST /config`, `konnect config apply`).
    public func replaceAll(with configuration: Configuration) async throws(EntityError) {
        let time = now()
        let loaded = configuration.entities.map { entity in
            let old = record(entity.kind, entity.id)
            let unchanged = old?.entity == entity
            return Record(entity: entity, createdAt: old?.createdAt ?? time, updatedAt: unchanged ? old!.updatedAt : time)
        }
        let operations = [StoreOperation.deleteAll] + loaded.map { .put(Self.stored($0)) }
        try await commit(operations) { reset(to: loaded) }
    }

    // MARK: Steps of a change

    func requireDatabase(_ kind: EntityKind, verb: String) throws(EntityError) {
        guard store != nil else { throw .readOnly(kind, verb: verb) }
    }

    /// The body with the scope's parent reference set (a nested endpoint decides the parent).
    private func scoped(_ body: JSONValue, in scope: Scope?) throws(EntityError) -> JSONValue {
        guard let scope else { return body }
        guard case .object(var fields) = body else {
            throw .schemaViolation([ConfigIssue(path: "", expected: "a JSON object")])
        }
        let parent = try parentID(of: scope)
        if let given = fields[scope.field.rawValue], given != .null,
           given != .object(["id": .string(parent)]), given != .string(parent) {
            let expected = "the \(scope.field.kind.noun) of the URL (\(scope.parent)), or nothing"
            throw .schemaViolation([ConfigIssue(path: scope.field.rawValue, expected: expected)])
        }
        fields[scope.field.rawValue] = .object(["id": .string(parent)])
        return .object(fields)
    }

    private func parentID(of scope: Scope) throws(EntityError) -> String {
        guard let parent = lookUp(scope.field.kind, .idOrName(scope.parent)) else { throw .notFound() }
        return parent.entity.id
    }

    /// The entity read from `input` with its references turned into ids; 400 when a field is
    /// wrong or a reference leads nowhere.
    private func resolved(_ input: EntityInput) throws(EntityError) -> Entity {
        guard var entity = input.entity else { throw .schemaViolation(input.issues) }
        var ids: [EntityReferenceField: String] = [:]
        for (field, key) in input.references {
            guard let target = lookUp(field.kind, key) else { throw .missingReference(field, key: key) }
            ids[field] = target.entity.id
        }
        entity = entity.settingReferences(ids)
        if case .plugin(let plugin) = entity, plugin.consumerID != nil, plugin.consumerGroupID != nil {
            throw .schemaViolation([ConfigIssue(path: "consumer_group", expected: "a consumer or a consumer group for the plugin, not both")])
        }
        for field in entity.kind.requiredReferences where entity.references[field, default: ""].isEmpty {
            throw .schemaViolation([ConfigIssue(path: field.rawValue, expected: "the \(field.kind.noun) of the \(entity.kind.noun); the field is required")])
        }
        // A service's CA certificates are a list of ids, outside `references`.
        if case .service(let service) = entity {
            for (index, caID) in service.caCertificateIDs.enumerated() where slots[.caCertificates]?[caID] == nil {
                throw .coded(400, .foreignKeyViolation, name: "foreign key violation",
                             message: "the CA certificate '\(caID)' does not exist",
                             fields: .object(["ca_certificates": .array(service.caCertificateIDs.indices.map { $0 == index ? .string("does not exist") : .null })]))
            }
        }
        return entity
    }

    /// Checks unique names, then stores and publishes the record.
    private func save(_ record: Record, sniNames: [String]? = nil) async throws(EntityError) -> Record {
        let entity = record.entity
        if let name = entity.uniqueName, let owner = names[entity.kind]?[name], owner != entity.id {
            throw .uniqueViolation(field: entity.kind.uniqueField ?? "name", value: name)
        }
        for (field, value) in entity.otherUniqueValues {
            let taken = current.entities(of: entity.kind).contains { other in
                other.id != entity.id && other.otherUniqueValues.contains { $0.field == field && $0.value == value }
            }
            if taken {
                // An ACL's value pairs the consumer with the group, a plugin's its name with its
                // scope; the group or the name is what the user gave.
                let shown = switch entity {
                case .acl(let acl): acl.group
                case .plugin(let plugin): plugin.name
                default: value
                }
                throw .uniqueViolation(field: field, value: shown)
            }
        }
        var operations = [StoreOperation.put(Self.stored(record))]
        var sniChanges: (removed: [String], added: [Record]) = ([], [])
        if let sniNames {
            sniChanges = try sniChangesFor(certificate: entity.id, names: sniNames, time: record.updatedAt)
            operations += sniChanges.removed.map { .delete(.snis, id: $0) } + sniChanges.added.map { .put(Self.stored($0)) }
        }
        try await commit(operations) {
            remember(record)
            for id in sniChanges.removed { forget(.snis, id: id) }
            for added in sniChanges.added { remember(added) }
        }
        return withSNIs(record)
    }

    /// What makes the SNIs of `certificate` exactly `names` (Kong's `snis` field of a
    /// certificate): those to delete, and those to create. A name another certificate has is a
    /// conflict (409).
    private func sniChangesFor(certificate: String, names: [String], time: Int) throws(EntityError) -> (removed: [String], added: [Record]) {
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted {
            throw .schemaViolation([ConfigIssue(path: "snis", value: name, expected: "names without repeats (\(name) is duplicated)")])
        }
        let existing = current.snis.filter { $0.certificateID == certificate }
        var added: [Record] = []
        for name in names where !existing.contains(where: { $0.name == name }) {
            if self.names[.snis]?[name] != nil { throw .uniqueViolation(field: "snis", value: name) }
            let sni = SNI(id: UUID().uuidString.lowercased(), name: name, certificateID: certificate)
            added.append(Record(entity: .sni(sni), createdAt: time, updatedAt: time))
        }
        let removed = existing.filter { !seen.contains($0.name) }.map(\.id)
        return (removed, added)
    }

    /// Writes `operations` in one transaction, then applies the same change in memory and
    /// publishes the new configuration. Nothing changes when the write fails.
    func commit(_ operations: [StoreOperation], apply: () -> Void) async throws(EntityError) {
        if let store {
            do {
                try store.write(operations)
            } catch {
                throw .storeFailed(error)
            }
        }
        apply()
        do {
            try await publish(configuration)
        } catch {
            // Stored and kept: the data plane picks it up with the next change or restart.
            throw EntityError(status: 500, message: "stored, but the proxy could not take the change yet: \(error)")
        }
    }

    func lookUp(_ kind: EntityKind, _ key: EntityKey) -> Record? {
        switch key {
        case .id(let id):
            return record(kind, id.lowercased())
        case .name(let name):
            return names[kind]?[name].flatMap { record(kind, $0) }
        case .idOrName(let text):
            if Self.isUUID(text), let found = record(kind, text.lowercased()) { return found }
            return names[kind]?[text].flatMap { record(kind, $0) }
        }
    }

    static func isUUID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.map(\.count) == [8, 4, 4, 4, 12] && text.allSatisfy { $0 == "-" || $0.isHexDigit }
    }

    static func stored(_ record: Record) -> StoredEntity {
        StoredEntity(kind: record.entity.kind, id: record.entity.id, uniqueName: record.entity.uniqueName,
                     references: record.entity.references, createdAt: record.createdAt,
                     updatedAt: record.updatedAt,
                     json: record.entity.json(createdAt: record.createdAt, updatedAt: record.updatedAt).jsonText)
    }
}

/// The store holds entities that do not read as valid any more.
public struct StoreLoadError: Error, CustomStringConvertible {
    public var problems: [String]

    public var description: String {
        "the store holds entities Konnect cannot read: " + problems.joined(separator: "; ")
    }
}
