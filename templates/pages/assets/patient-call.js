// The patient's side of the video call. Filled in with the media worker (WebRTC).
export const PatientCall = null;
