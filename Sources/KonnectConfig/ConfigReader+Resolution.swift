/// Ids and names of one kind of entity, for uniqueness checks and reference lookups.
struct EntityIndex {
    /// What the entities are called in messages: "service", "route", …
    var noun: String
    var paths: [String] = []
    var byID: [String: Int] = [:]
    var byName: [String: Int] = [:]
}

extension ConfigReader {
    /// Settles every id, checks uniqueness and references, and assembles the configuration.
    ///
    /// Entities keep the order they were written in the file, nested ones where they are nested.
    func resolve() -> Configuration {
        for index in services.indices {
            let info = services[index].info
            services[index].service.id = info.givenID?.value
                ?? Self.derivedID(info.name.map { "service:name:\($0.value)" } ?? "service:position:\(info.index)")
        }
        let serviceIndex = makeIndex(noun: "service", infos: services.map(\.info), ids: services.map(\.service.id))

        for index in upstreams.indices {
            let info = upstreams[index].info
            upstreams[index].upstream.id = info.givenID?.value
                ?? Self.derivedID(info.name.map { "upstream:name:\($0.value)" } ?? "upstream:position:\(info.index)")
        }
        let upstreamIndex = makeIndex(noun: "upstream", infos: upstreams.map(\.info), ids: upstreams.map(\.upstream.id))

        for index in consumers.indices {
            let draft = consumers[index]
            let key = draft.username.map { "consumer:username:\($0.value)" }
                ?? draft.customID.map { "consumer:custom_id:\($0.value)" }
                ?? "consumer:position:\(draft.info.index)"
            consumers[index].consumer.id = draft.info.givenID?.value ?? Self.derivedID(key)
        }
        var consumerIndex = makeIndex(noun: "consumer", nameField: "username", infos: consumers.map(\.info), ids: consumers.map(\.consumer.id))
        checkCustomIDs(into: &consumerIndex)

        resolveRoutes(services: serviceIndex)
        let routeIndex = makeIndex(noun: "route", infos: routes.map(\.info), ids: routes.map(\.route.id))
        resolveTargets(upstreams: upstreamIndex)
        let groupIndex = resolveDrafts(.consumerGroups, parents: nil)
        resolvePlugins(services: serviceIndex, routes: routeIndex, consumers: consumerIndex, groups: groupIndex)

        let certificateIndex = resolveDrafts(.certificates, parents: nil)
        let caIndex = resolveDrafts(.caCertificates, parents: nil)
        resolveServiceTLS(certificates: certificateIndex, caCertificates: caIndex)
        let certificateIDs = drafts[.certificates, default: []].map(\.entity.id)
        _ = resolveDrafts(.snis, parents: (certificateIndex, certificateIDs))
        let consumerIDs = consumers.map(\.consumer.id)
        for (_, kind) in Self.consumerCredentialLists {
            _ = resolveDrafts(kind, parents: (consumerIndex, consumerIDs))
        }
        _ = resolveDrafts(.aiModels, parents: nil)
        let memberships = resolveMemberships(groups: groupIndex, consumers: consumerIndex)

        var configuration = Configuration(
            formatVersion: "3.0",
            services: services.map(\.service),
            routes: routes.map(\.route),
            upstreams: upstreams.map(\.upstream),
            targets: targets.map(\.target),
            consumers: consumers.map(\.consumer),
            plugins: plugins.map(\.plugin)
        )
        for kind in EntityKind.allCases {
            for draft in drafts[kind] ?? [] { configuration.put(draft.entity) }
        }
        configuration.consumerGroupConsumers = memberships
        return configuration
    }

    /// Settles the parent and id of each draft of `kind`, and checks that ids, unique names and
    /// other unique values do not repeat. `parents` indexes the kind's parent entities.
    private func resolveDrafts(_ kind: EntityKind, parents: (index: EntityIndex, ids: [String])?) -> EntityIndex {
        var list = drafts[kind] ?? []
        let field = kind.referenceFields.first
        for position in list.indices {
            let draft = list[position]
            var parentID = ""
            if let parents, let field {
                let describe: (Int) -> String = { parents.index.paths[$0] }
                if let found = scope(implied: draft.parent, reference: draft.parentReference, in: parents.index, describe: describe) {
                    parentID = parents.ids[found]
                } else if draft.parentReference == nil {
                    report(ConfigReader.path(draft.info.path, field.rawValue), draft.info.location,
                           expected: "the \(field.kind.noun) of the \(kind.noun), or nesting it under one; the field is required")
                }
                list[position].entity = draft.entity.settingReferences([field: parentID])
            }
            list[position].entity.id = draft.info.givenID?.value ?? Self.derivedID(draft.idKey(parentID))
        }
        drafts[kind] = list
        // A key-auth key is a secret: a duplicate is named by where it is, not by its value.
        let index = makeIndex(noun: kind.noun, nameField: kind.uniqueField ?? "name", showName: kind != .keyAuthCredentials,
                              infos: list.map(\.info), ids: list.map(\.entity.id))
        var seen: [String: Int] = [:]
        for (position, draft) in list.enumerated() {
            for (field, value) in draft.entity.otherUniqueValues {
                if let first = seen["\(field) \(value)"] {
                    let expected = kind == .acls
                        ? "a group the consumer is not already in (\(list[first].info.path) has it)"
                        : "a \(field) not used by another \(kind.noun) (\(list[first].info.path) has it)"
                    report(ConfigReader.path(draft.info.path, field), draft.info.location, expected: expected)
                } else {
                    seen["\(field) \(value)"] = position
                }
            }
        }
        return index
    }

    /// A service's client certificate and CA certificates, which must be in the file.
    private func resolveServiceTLS(certificates: EntityIndex, caCertificates: EntityIndex) {
        let certificateIDs = drafts[.certificates, default: []].map(\.entity.id)
        for position in services.indices {
            let draft = services[position]
            if let reference = draft.clientCertificateReference,
               let found = scope(implied: nil, reference: reference, in: certificates, describe: { certificates.paths[$0] }) {
                services[position].service.clientCertificateID = certificateIDs[found]
            }
            for id in draft.caCertificates where caCertificates.byID[id.value] == nil {
                report(id.path, id.location, value: id.value, expected: "the id of a CA certificate defined in this file")
            }
        }
    }

    /// "a service", "an SNI", "an ACL group".
    static func article(_ noun: String) -> String {
        let vowelSound = noun.first.map { "aeiouAEIOU".contains($0) } == true || noun.hasPrefix("SNI")
        return (vowelSound ? "an " : "a ") + noun
    }

    /// The id of an entity the file gives none: a name-based UUID of its kind and name, or of
    /// its parent and position when it has no name.
    static func derivedID(_ key: String) -> String {
        NameBasedUUID.make(name: key)
    }

    /// Indexes entities by id and name, reporting a later duplicate of either at its own path.
    private func makeIndex(noun: String, nameField: String = "name", showName: Bool = true, infos: [DraftInfo],
                           ids: [String]) -> EntityIndex {
        var index = EntityIndex(noun: noun, paths: infos.map(\.path))
        for (position, info) in infos.enumerated() {
            var duplicateName = false
            if let name = info.name {
                if let first = index.byName[name.value] {
                    duplicateName = true
                    report(name.path, name.location, value: showName ? name.value : nil,
                           expected: "\(Self.article(noun)) \(nameField) not used by another \(noun) (\(infos[first].path) has it)")
                } else {
                    index.byName[name.value] = position
                }
            }
            let id = ids[position]
            if let first = index.byID[id] {
                if let given = info.givenID {
                    report(given.path, given.location, value: given.value,
                           expected: "an id not used by another \(noun) (\(infos[first].path) has it)")
                } else if !duplicateName {
                    report(info.path, info.location, expected: "\(Self.article(noun)) whose derived id \(id) is not taken (\(infos[first].path) has it); give it an id")
                }
            } else {
                index.byID[id] = position
            }
        }
        return index
    }

    /// Consumer `custom_id`s are unique too, and also serve as references.
    private func checkCustomIDs(into index: inout EntityIndex) {
        var seen: [String: Int] = [:]
        for (position, draft) in consumers.enumerated() {
            guard let customID = draft.customID else { continue }
            if let first = seen[customID.value] {
                report(customID.path, customID.location, value: customID.value,
                       expected: "a custom_id not used by another consumer (\(consumers[first].info.path) has it)")
            } else {
                seen[customID.value] = position
                if index.byName[customID.value] == nil { index.byName[customID.value] = position }
            }
        }
    }

    /// The position of the entity `reference` names, or `nil` with an issue when none matches.
    func lookUp(_ reference: Reference, in index: EntityIndex) -> Int? {
        let found: Int?
        let expected: String
        switch reference.key {
        case .idOrName(let text):
            found = (NameBasedUUID.isValid(text) ? index.byID[text.lowercased()] : nil) ?? index.byName[text]
            expected = "the name or id of a \(index.noun) defined in this file"
        case .id(let id):
            found = index.byID[id]
            expected = "the id of a \(index.noun) defined in this file"
        case .name(let name):
            found = index.byName[name]
            expected = "the name of a \(index.noun) defined in this file"
        }
        if found == nil {
            report(reference.path, reference.location, value: reference.written, expected: expected)
        }
        return found
    }

    /// Resolves `reference` where the entity may also be implied by nesting; a reference that
    /// names a different entity than the enclosing one is an issue.
    func scope(implied: Int?, reference: Reference?, in index: EntityIndex, describe: (Int) -> String) -> Int? {
        guard let reference else { return implied }
        guard let found = lookUp(reference, in: index) else { return implied }
        if let implied, implied != found {
            report(reference.path, reference.location, value: reference.written,
                   expected: "the \(index.noun) this is nested in (\(describe(implied))), or no \(index.noun) field")
            return implied
        }
        return found
    }

    private func describeService(_ position: Int) -> String {
        services[position].service.name.map { "\"\($0)\"" } ?? services[position].info.path
    }

    private func resolveRoutes(services serviceIndex: EntityIndex) {
        for position in routes.indices {
            let draft = routes[position]
            let service = scope(implied: draft.parentService, reference: draft.serviceReference, in: serviceIndex, describe: describeService)
            let serviceID = service.map { services[$0].service.id }
            routes[position].route.serviceID = serviceID
            let key: String
            if let name = draft.info.name {
                key = "route:name:\(name.value)"
            } else if let parent = draft.parentService {
                key = "route:in:\(services[parent].service.id):\(draft.info.index)"
            } else {
                key = "route:position:\(draft.info.index)"
            }
            routes[position].route.id = draft.info.givenID?.value ?? Self.derivedID(key)
        }
    }

    private func resolveTargets(upstreams upstreamIndex: EntityIndex) {
        var ids: [String: Int] = [:]
        var addresses: [String: Int] = [:]
        for position in targets.indices {
            let draft = targets[position]
            let upstream = scope(implied: draft.parentUpstream, reference: draft.upstreamReference, in: upstreamIndex) {
                "\"\(self.upstreams[$0].upstream.name)\""
            }
            let upstreamID = upstream.map { upstreams[$0].upstream.id } ?? ""
            targets[position].target.upstreamID = upstreamID
            let key = draft.address.map { "target:\(upstreamID):\($0.value)" } ?? "target:in:\(upstreamID):\(draft.info.index)"
            let id = draft.info.givenID?.value ?? Self.derivedID(key)
            targets[position].target.id = id

            if let address = draft.address, let upstream {
                let addressKey = "\(upstreamID) \(address.value)"
                if let first = addresses[addressKey] {
                    report(address.path, address.location, value: address.value,
                           expected: "a target not already in upstream \"\(upstreams[upstream].upstream.name)\" (\(targets[first].info.path) has it)")
                    continue
                }
                addresses[addressKey] = position
            }
            if let first = ids[id] {
                let given = draft.info.givenID
                report(given?.path ?? draft.info.path, given?.location ?? draft.info.location, value: given?.value,
                       expected: "an id not used by another target (\(targets[first].info.path) has it)")
            } else {
                ids[id] = position
            }
        }
    }

    private func resolvePlugins(services serviceIndex: EntityIndex, routes routeIndex: EntityIndex, consumers consumerIndex: EntityIndex,
                                groups groupIndex: EntityIndex) {
        let groupIDs = drafts[.consumerGroups, default: []].map(\.entity.id)
        var impliedService: Int?, impliedRoute: Int?, impliedConsumer: Int?, impliedGroup: Int?
        var scopes: [String: Int] = [:]
        var instanceNames: [String: Int] = [:]
        var ids: [String: Int] = [:]
        for position in plugins.indices {
            let draft = plugins[position]
            impliedService = nil
            impliedRoute = nil
            impliedConsumer = nil
            impliedGroup = nil
            switch draft.parent {
            case .service(let index): impliedService = index
            case .route(let index): impliedRoute = index
            case .consumer(let index): impliedConsumer = index
            case .consumerGroup(let index): impliedGroup = index
            case nil: break
            }
            let service = scope(implied: impliedService, reference: draft.serviceReference, in: serviceIndex, describe: describeService)
            let route = scope(implied: impliedRoute, reference: draft.routeReference, in: routeIndex) {
                self.routes[$0].route.name.map { "\"\($0)\"" } ?? self.routes[$0].info.path
            }
            let consumer = scope(implied: impliedConsumer, reference: draft.consumerReference, in: consumerIndex) {
                self.consumers[$0].info.path
            }
            let group = scope(implied: impliedGroup, reference: draft.consumerGroupReference, in: groupIndex) {
                self.drafts[.consumerGroups, default: []][$0].info.path
            }
            var plugin = draft.plugin
            plugin.serviceID = service.map { services[$0].service.id }
            plugin.routeID = route.map { routes[$0].route.id }
            plugin.consumerID = consumer.map { consumers[$0].consumer.id }
            plugin.consumerGroupID = group.map { groupIDs[$0] }
            // A consumer is more specific than any group: a plugin names one or the other (Kong's
            // precedence has no place for both).
            if consumer != nil, group != nil {
                let written = draft.consumerGroupReference ?? draft.consumerReference
                report(written?.path ?? draft.info.path, written?.location ?? draft.info.location, value: written?.written,
                       expected: "a consumer or a consumer group for the plugin, not both")
            }
            let scopeKey = plugin.scopeKey
            let key = draft.info.name != nil ? "plugin:\(scopeKey)" : "plugin:position:\(draft.info.path)"
            plugin.id = draft.info.givenID?.value ?? Self.derivedID(key)
            plugins[position].plugin = plugin

            if let name = draft.info.name {
                if let first = scopes[scopeKey] {
                    report(name.path, name.location, value: name.value,
                           expected: "one \(name.value) plugin per service, route and consumer or consumer group (\(plugins[first].info.path) is configured for the same ones)")
                    continue
                }
                scopes[scopeKey] = position
            }
            if let instance = draft.instanceName {
                if let first = instanceNames[instance.value] {
                    report(instance.path, instance.location, value: instance.value,
                           expected: "an instance_name not used by another plugin (\(plugins[first].info.path) has it)")
                } else {
                    instanceNames[instance.value] = position
                }
            }
            if let first = ids[plugin.id] {
                let given = draft.info.givenID
                report(given?.path ?? draft.info.path, given?.location ?? draft.info.location, value: given?.value,
                       expected: "an id not used by another plugin (\(plugins[first].info.path) has it)")
            } else {
                ids[plugin.id] = position
            }
        }
    }
}
