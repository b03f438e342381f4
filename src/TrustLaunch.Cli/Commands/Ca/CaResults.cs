using System.Text.Json.Serialization;

namespace TrustLaunch.Cli.Commands.Ca;

public sealed record CaInitResult(string Directory, string Certificate, string Key, string Subject, string Thumbprint, DateTimeOffset NotAfter);

public sealed record CaIssueResult(string Role, string Name, string Certificate, string Key, string Subject, string Thumbprint, DateTimeOffset NotAfter);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(CaInitResult))]
[JsonSerializable(typeof(CaIssueResult))]
internal sealed partial class CaJsonContext : JsonSerializerContext;
