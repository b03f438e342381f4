using System.Text.Json;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Cli.Commands.Policy;

/// <summary>
/// Reads a policy file (<c>.yaml</c>/<c>.yml</c>: YAML, turned into its JSON twin by <see cref="PolicyYaml"/>; any
/// other name: JSON): the wire form (snake_case; <c>exec</c> is <c>"allow"</c>, <c>"deny"</c> or a list of
/// argv[0] values, <c>allow_host_network</c> and <c>allow_unconfined_seccomp</c> booleans, all optional). A
/// <c>trusted_publishers</c> value that is not a PEM block is a path to a PEM file, relative to the policy file.
/// </summary>
public static class PolicyFile
{
    private const long MaxBytes = 1024 * 1024;

    public static async Task<PolicyDocument> ReadAsync(FileInfo file, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!file.Exists)
            throw new CliUsageException($"policy file {file.FullName} does not exist");
        if (file.Length > MaxBytes)
            throw new CliUsageException($"policy file {file.FullName} is {file.Length} bytes, more than {MaxBytes}");
        PolicyDocument? document;
        try
        {
            var bytes = await File.ReadAllBytesAsync(file.FullName, cancellationToken).ConfigureAwait(false);
            if (PolicyYaml.IsYaml(file))
                bytes = PolicyYaml.ToJson(file.FullName, await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false));
            document = JsonSerializer.Deserialize(bytes, ContractsJsonContext.Default.PolicyDocument);
        }
        catch (JsonException e)
        {
            throw new CliUsageException($"policy file {file.FullName}: {e.Message}");
        }
        if (document is null)
            throw new CliUsageException($"policy file {file.FullName} holds null");
        if (document.TrustedPublishers is null)
            return document;
        var publishers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (kid, value) in document.TrustedPublishers)
        {
            if (value.TrimStart().StartsWith("-----BEGIN", StringComparison.Ordinal))
            {
                publishers[kid] = value;
                continue;
            }
            var path = Path.Combine(file.DirectoryName!, value);
            if (!File.Exists(path))
                throw new CliUsageException($"policy file {file.FullName}: trusted publisher '{kid}' names {path}, which does not exist");
            publishers[kid] = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        return document with { TrustedPublishers = publishers };
    }
}
