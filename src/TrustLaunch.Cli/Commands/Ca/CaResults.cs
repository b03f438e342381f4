using System.Text.Json.Serialization;

namespace TrustLaunch.Cli.Commands.Ca;

public sealed record CaInitResult(string Directory, string KeyDirectory, string Certificate, string Key, string RevocationList, string Subject,
    string Thumbprint, DateTimeOffset NotAfter);

public sealed record CaIssueResult(string Role, string Name, string Certificate, string Key, string Subject, string SerialNumber, string Thumbprint,
    DateTimeOffset NotAfter, string SubjectAltNames);

public sealed record CaRevokeResult(string Name, IReadOnlyList<string> Revoked, string RevocationList);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(CaInitResult))]
[JsonSerializable(typeof(CaIssueResult))]
[JsonSerializable(typeof(CaRevokeResult))]
internal sealed partial class CaJsonContext : JsonSerializerContext;
