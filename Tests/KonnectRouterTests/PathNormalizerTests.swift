import KonnectRouter
import Testing

@Suite struct PathNormalizerTests {
    @Test(arguments: [
        ("/", "/"),
        ("/plain/path", "/plain/path"),
        ("/a/../admin", "/admin"),
        ("/a/./b", "/a/b"),
        ("/a/b/c/./../../g", "/a/g"),
        ("/a/b/..", "/a/"),
        ("/a/.", "/a/"),
        ("/a/..", "/"),
        ("/..", "/"),
        ("/../../etc/passwd", "/etc/passwd"),
        ("/a/b/../../../../c", "/c"),
        ("/%61dmin", "/admin"),
        ("/%41%5a%30%2D%2e%5F%7E", "/AZ0-._~"),
        ("/%2e%2e/admin", "/admin"),
        ("/a/%2E/b", "/a/b"),
        ("/a%2Fb", "/a%2Fb"),
        ("/a%2fb", "/a%2Fb"),
        ("/%3f%20x", "/%3F%20x"),
        ("/caf%C3%A9", "/caf%C3%A9"),
        ("/a//b", "/a/b"),
        ("//admin", "/admin"),
        ("/a/", "/a/"),
        ("/a...b/.../c", "/a...b/.../c"),
        ("/.hidden/file.txt", "/.hidden/file.txt"),
    ])
    func normalises(input: String, expected: String) {
        #expect(PathNormalizer.normalize(input[...]) == expected)
    }

    @Test(arguments: ["", "relative/path", "*", "/bad%", "/bad%2", "/bad%zz", "/bad%2g/x", "/%%41"])
    func rejects(input: String) {
        #expect(PathNormalizer.normalize(input[...]) == nil)
    }

    @Test func normalisesASlice() {
        let target = "/api/../admin?x=1"
        let path = target[..<target.firstIndex(of: "?")!]
        #expect(PathNormalizer.normalize(path) == "/admin")
    }
}
