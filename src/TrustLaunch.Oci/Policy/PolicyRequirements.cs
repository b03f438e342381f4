namespace TrustLaunch.Oci.Policy;

/// <summary>One requirement of a containers-policy.json scope.</summary>
public abstract record PolicyRequirement;

/// <summary><c>{"type":"insecureAcceptAnything"}</c>: anything passes.</summary>
public sealed record InsecureAcceptAnything : PolicyRequirement;

/// <summary><c>{"type":"reject"}</c>: nothing passes.</summary>
public sealed record RejectRequirement : PolicyRequirement;

/// <summary>
/// <c>{"type":"signedBy","keyType":"GPGKeys","keyPath"|"keyPaths"|"keyData":…,"signedIdentity":…}</c>: an OpenPGP
/// simple signing signature by one of the keys (each entry an OpenPGP keyring, binary or ASCII-armored).
/// </summary>
public sealed record SignedByRequirement(IReadOnlyList<byte[]> Keyrings, SignedIdentity Identity) : PolicyRequirement;

/// <summary>
/// <c>{"type":"sigstoreSigned","keyPath"|"keyPaths"|"keyData":…,"signedIdentity":…}</c>: a cosign signature
/// (attachment <c>sha256-HEX.sig</c>) by one of the public keys (PEM, ECDSA). Fulcio and Rekor options are refused.
/// </summary>
public sealed record SigstoreSignedRequirement(IReadOnlyList<string> PublicKeysPem, SignedIdentity Identity) : PolicyRequirement;

/// <summary>How the identity a signature claims (its <c>docker-reference</c>) must relate to the image being run.</summary>
public abstract record SignedIdentity
{
    public static SignedIdentity Default { get; } = new MatchRepoDigestOrExact();
}

/// <summary>The same reference: repository and tag, or repository and digest.</summary>
public sealed record MatchExact : SignedIdentity;

/// <summary>For a reference by digest, the same repository; for a tag, the same reference (the default).</summary>
public sealed record MatchRepoDigestOrExact : SignedIdentity;

/// <summary>The same repository, any tag.</summary>
public sealed record MatchRepository : SignedIdentity;

/// <summary>The signature names exactly <paramref name="DockerReference"/>, whatever the image reference is.</summary>
public sealed record ExactReference(string DockerReference) : SignedIdentity;

/// <summary>The signature names <paramref name="DockerRepository"/> (any tag or digest), whatever the image reference is.</summary>
public sealed record ExactRepository(string DockerRepository) : SignedIdentity;

/// <summary>An image reference under <paramref name="Prefix"/> is read as if under <paramref name="SignedPrefix"/>, then matchRepoDigestOrExact.</summary>
public sealed record RemapIdentity(string Prefix, string SignedPrefix) : SignedIdentity;
