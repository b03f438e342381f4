namespace TrustLaunch.Verifier.Policies;

/// <summary>
/// What the events of one boot established so far, carried from one record to the next while a piece of evidence is
/// appraised: the images a trusted, allowed publisher vouched for, the containers created and not yet deleted, the
/// launches (<c>ContainerCreated</c> events) found within policy in this evidence, the golden values it holds (by
/// digest), and when it arrived.
/// </summary>
public sealed class EventContext
{
    public EventContext(IEnumerable<string> verifiedImages, IEnumerable<KeyValuePair<string, string>> createdContainers,
        IReadOnlyDictionary<string, string>? goldenValues, DateTimeOffset receivedAt)
    {
        VerifiedImages = new HashSet<string>(verifiedImages, StringComparer.Ordinal);
        CreatedContainers = new Dictionary<string, string>(createdContainers, StringComparer.Ordinal);
        GoldenValues = goldenValues ?? new Dictionary<string, string>(StringComparer.Ordinal);
        ReceivedAt = receivedAt;
    }

    /// <summary>Digests allowed through their golden value's publisher so far this boot; an allowed <c>ImageVerified</c> adds to it.</summary>
    public HashSet<string> VerifiedImages { get; }

    /// <summary>Containers created this boot and not deleted since, with the image manifest digest each runs;
    /// <c>ContainerCreated</c> adds, <c>ContainerDeleted</c> removes.</summary>
    public Dictionary<string, string> CreatedContainers { get; }

    /// <summary>The <c>ContainerCreated</c> events of this evidence found within policy so far, in log order.</summary>
    public List<Hosting.Contracts.VerifiedLaunch> Launches { get; } = [];

    /// <summary>Golden value JWS by the digest <c>ImageVerified</c>'s <c>golden</c> names them by.</summary>
    public IReadOnlyDictionary<string, string> GoldenValues { get; }

    /// <summary>The time of the records: the log has none, so when the verifier received them.</summary>
    public DateTimeOffset ReceivedAt { get; }
}
