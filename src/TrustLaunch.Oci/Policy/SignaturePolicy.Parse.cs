using System.Text.Json;

namespace TrustLaunch.Oci.Policy;

public sealed partial class SignaturePolicy
{
    /// <summary>Reads <paramref name="path"/> (default <see cref="DefaultPath"/>), which must exist: without a policy nothing is trusted.</summary>
    /// <exception cref="FormatException">Naming the file and what is wrong.</exception>
    public static SignaturePolicy Load(string? path = null)
    {
        var file = path ?? DefaultPath;
        if (!File.Exists(file))
            throw new FileNotFoundException($"signature policy {file} does not exist", file);
        return Parse(File.ReadAllBytes(file), file, System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file))!);
    }

    /// <summary>Parses strictly: unknown members, requirement types, key types and identity types are refused, by name.</summary>
    /// <param name="baseDirectory">Where relative <c>keyPath</c>s are read from.</param>
    public static SignaturePolicy Parse(ReadOnlySpan<byte> json, string path = "policy.json", string? baseDirectory = null)
    {
        baseDirectory ??= Directory.GetCurrentDirectory();
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw new FormatException($"signature policy {path} is not JSON: {e.Message}");
        }
        using (doc)
        {
            try
            {
                IReadOnlyList<PolicyRequirement>? defaults = null;
                var docker = new Dictionary<string, IReadOnlyList<PolicyRequirement>>(StringComparer.Ordinal);
                foreach (var member in Expect(doc.RootElement, JsonValueKind.Object, "the policy").EnumerateObject())
                {
                    switch (member.Name)
                    {
                        case "default":
                            defaults = Requirements(member.Value, "default", baseDirectory);
                            break;
                        case "transports":
                            foreach (var transport in Expect(member.Value, JsonValueKind.Object, "transports").EnumerateObject())
                            {
                                var scopes = Expect(transport.Value, JsonValueKind.Object, $"transports.{transport.Name}");
                                // Other transports (oci, dir, containers-storage …) never apply to a registry pull; their scopes are still checked.
                                foreach (var scope in scopes.EnumerateObject())
                                {
                                    var requirements = Requirements(scope.Value, $"transports.{transport.Name}.\"{scope.Name}\"", baseDirectory);
                                    if (transport.Name == "docker")
                                        docker[scope.Name] = requirements;
                                }
                            }
                            break;
                        default:
                            throw new FormatException($"unknown member '{member.Name}'");
                    }
                }
                return new SignaturePolicy(path, defaults ?? throw new FormatException("it has no \"default\" requirements"), docker);
            }
            catch (FormatException e)
            {
                throw new FormatException($"signature policy {path}: {e.Message}");
            }
        }
    }

    private static IReadOnlyList<PolicyRequirement> Requirements(JsonElement element, string what, string baseDirectory)
    {
        var list = Expect(element, JsonValueKind.Array, what).EnumerateArray().Select((r, i) => Requirement(r, $"{what}[{i}]", baseDirectory)).ToList();
        return list.Count > 0 ? list : throw new FormatException($"{what} has no requirements (containers/image refuses an empty list)");
    }

    private static PolicyRequirement Requirement(JsonElement element, string what, string baseDirectory)
    {
        var members = Members(element, what);
        var type = members.TryGetValue("type", out var t) ? String(t, $"{what}.type") : throw new FormatException($"{what} has no type");
        switch (type)
        {
            case "insecureAcceptAnything":
                Only(members, what, "type");
                return new InsecureAcceptAnything();
            case "reject":
                Only(members, what, "type");
                return new RejectRequirement();
            case "signedBy":
                Only(members, what, "type", "keyType", "keyPath", "keyPaths", "keyData", "signedIdentity");
                var keyType = members.TryGetValue("keyType", out var k) ? String(k, $"{what}.keyType") : throw new FormatException($"{what} has no keyType");
                if (keyType != "GPGKeys")
                    throw new FormatException($"{what}: keyType '{keyType}' is not supported (only GPGKeys)");
                return new SignedByRequirement(Keys(members, what, baseDirectory), Identity(members, what));
            case "sigstoreSigned":
                Only(members, what, "type", "keyPath", "keyPaths", "keyData", "signedIdentity");
                return new SigstoreSignedRequirement(Keys(members, what, baseDirectory).Select(System.Text.Encoding.UTF8.GetString).ToList(), Identity(members, what));
            default:
                throw new FormatException($"{what}: unknown requirement type '{type}'");
        }
    }

    /// <summary>Exactly one of keyPath, keyPaths, keyData; files are read now so a policy naming a missing key is refused at load.</summary>
    private static List<byte[]> Keys(Dictionary<string, JsonElement> members, string what, string baseDirectory)
    {
        var given = new[] { "keyPath", "keyPaths", "keyData" }.Where(members.ContainsKey).ToList();
        if (given.Count != 1)
            throw new FormatException($"{what} must have exactly one of keyPath, keyPaths, keyData (has {(given.Count == 0 ? "none" : string.Join(", ", given))})");
        var paths = given[0] switch
        {
            "keyPath" => [String(members["keyPath"], $"{what}.keyPath")],
            "keyPaths" => Expect(members["keyPaths"], JsonValueKind.Array, $"{what}.keyPaths").EnumerateArray().Select(p => String(p, $"{what}.keyPaths entry")).ToList(),
            _ => null,
        };
        if (paths is null)
        {
            try
            {
                return [Convert.FromBase64String(String(members["keyData"], $"{what}.keyData"))];
            }
            catch (FormatException)
            {
                throw new FormatException($"{what}.keyData is not base64");
            }
        }
        if (paths.Count == 0)
            throw new FormatException($"{what}.keyPaths is empty");
        return paths.Select(p =>
        {
            var full = System.IO.Path.Combine(baseDirectory, p);
            return File.Exists(full) ? File.ReadAllBytes(full) : throw new FormatException($"{what}: key file {full} does not exist");
        }).ToList();
    }

    private static SignedIdentity Identity(Dictionary<string, JsonElement> members, string what)
    {
        if (!members.TryGetValue("signedIdentity", out var element))
            return SignedIdentity.Default;
        what += ".signedIdentity";
        var m = Members(element, what);
        var type = m.TryGetValue("type", out var t) ? String(t, $"{what}.type") : throw new FormatException($"{what} has no type");
        switch (type)
        {
            case "matchExact":
                Only(m, what, "type");
                return new MatchExact();
            case "matchRepoDigestOrExact":
                Only(m, what, "type");
                return new MatchRepoDigestOrExact();
            case "matchRepository":
                Only(m, what, "type");
                return new MatchRepository();
            case "exactReference":
                Only(m, what, "type", "dockerReference");
                return new ExactReference(Required(m, "dockerReference", what));
            case "exactRepository":
                Only(m, what, "type", "dockerRepository");
                return new ExactRepository(Required(m, "dockerRepository", what));
            case "remapIdentity":
                Only(m, what, "type", "prefix", "signedPrefix");
                return new RemapIdentity(Required(m, "prefix", what), Required(m, "signedPrefix", what));
            default:
                throw new FormatException($"{what}: unknown signedIdentity type '{type}'");
        }
    }

    private static string Required(Dictionary<string, JsonElement> members, string name, string what) =>
        members.TryGetValue(name, out var value) ? String(value, $"{what}.{name}") : throw new FormatException($"{what} has no {name}");

    private static Dictionary<string, JsonElement> Members(JsonElement element, string what)
    {
        var members = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var member in Expect(element, JsonValueKind.Object, what).EnumerateObject())
        {
            if (!members.TryAdd(member.Name, member.Value))
                throw new FormatException($"{what}: member '{member.Name}' appears twice");
        }
        return members;
    }

    private static void Only(Dictionary<string, JsonElement> members, string what, params string[] allowed)
    {
        foreach (var name in members.Keys)
        {
            if (!allowed.Contains(name))
                throw new FormatException($"{what}: unknown member '{name}' for type '{members["type"].GetString()}'");
        }
    }

    private static string String(JsonElement element, string what) => Expect(element, JsonValueKind.String, what).GetString()!;

    private static JsonElement Expect(JsonElement element, JsonValueKind kind, string what) =>
        element.ValueKind == kind ? element : throw new FormatException($"{what} is {element.ValueKind}, expected {kind}");
}
