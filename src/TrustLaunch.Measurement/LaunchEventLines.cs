namespace TrustLaunch.Measurement;

/// <summary>The event lines of <see cref="LaunchEvents"/>, one builder per operation, content canonicalised.</summary>
public static class LaunchEventLines
{
    private static LaunchEventsJsonContext Json => LaunchEventsJsonContext.Default;

    public static string ImagePulled(ImagePulledEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.ImagePulled, e, Json.ImagePulledEvent);

    public static string ImageVerified(ImageVerifiedEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.ImageVerified, e, Json.ImageVerifiedEvent);

    public static string ImageRejected(ImageRejectedEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.ImageRejected, e, Json.ImageRejectedEvent);

    public static string ContainerCreated(ContainerCreatedEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.ContainerCreated, e, Json.ContainerCreatedEvent);

    public static string ContainerStarted(ContainerEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.ContainerStarted, e, Json.ContainerEvent);

    public static string ContainerStopped(ContainerStoppedEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.ContainerStopped, e, Json.ContainerStoppedEvent);

    public static string ContainerDeleted(ContainerEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.ContainerDeleted, e, Json.ContainerEvent);

    public static string PodSandboxCreated(PodSandboxCreatedEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.PodSandboxCreated, e, Json.PodSandboxCreatedEvent);

    public static string PodSandboxStopped(PodSandboxEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.PodSandboxStopped, e, Json.PodSandboxEvent);

    public static string PodSandboxRemoved(PodSandboxEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.PodSandboxRemoved, e, Json.PodSandboxEvent);

    public static string ContainerExec(ContainerExecEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.ContainerExec, e, Json.ContainerExecEvent);

    public static string KeyReleased(KeyReleasedEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.KeyReleased, e, Json.KeyReleasedEvent);

    public static string SecretReleased(SecretReleasedEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.SecretReleased, e, Json.SecretReleasedEvent);

    public static string WorkloadEvent(WorkloadEventEvent e) =>
        EventLine.Format(LaunchEvents.Domain, LaunchEvents.WorkloadEvent, e, Json.WorkloadEventEvent);
}
