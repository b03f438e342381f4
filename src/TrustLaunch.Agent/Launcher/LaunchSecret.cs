using TrustLaunch.Measurement;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// A sealed secret a launch gives the container as the read-only file <c>/run/secrets/NAME</c>
/// (<c>trustlaunch run --secret NAME=FILE</c>): <see cref="SealedText"/> is the <c>sealed.…</c> form, opened only on the node.
/// </summary>
public sealed record LaunchSecret(string Name, string SealedText)
{
    public override string ToString() => $"LaunchSecret {{ Name = {Name} }}";

    /// <summary>Refuses a name that is not one file name of its own, and a name given twice, before anything is measured.</summary>
    /// <exception cref="ArgumentException">The first bad name, with its reason.</exception>
    public static void CheckNames(IEnumerable<string> names)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (name.Length == 0)
                throw new ArgumentException("secret name is empty");
            if (name.AsSpan().IndexOfAny('/', '\\') >= 0)
                throw new ArgumentException($"secret name '{name}' contains a path separator");
            if (name is "." or "..")
                throw new ArgumentException($"secret name '{name}' is '.' or '..', not a file name");
            if (!SecretReleasedEvent.IsName(name))
                throw new ArgumentException("secret name is not 1-255 letters, digits, '.', '_' or '-'");
            if (!seen.Add(name))
                throw new ArgumentException($"secret '{name}' is given twice");
        }
    }
}

/// <summary>Opens one sealed secret on this node, measured (<see cref="TrustLaunch.Agent.Kbs.NodeSecrets.UnsealAsync(string, string, CancellationToken)"/>).</summary>
public delegate Task<byte[]> SecretUnsealer(string name, string sealedText, CancellationToken cancellationToken);

/// <summary>What a container's record keeps of a secret it was given: its name and the digest of its sealed form, never the value.</summary>
public sealed record ContainerSecretRecord(string Name, string SealedDigest);

/// <summary>A sealed secret of a launch was refused (its signature, its form, or the broker's refusal); the container is not created.</summary>
public sealed class SecretRefusedException(string name, string reason, Exception? inner = null)
    : Exception($"NOT verified: secret '{name}' refused: {reason}", inner)
{
    public string Reason { get; } = $"secret '{name}' refused: {reason}";
}
