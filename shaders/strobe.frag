#version 330
// Strobe on onsets: a white flash that decays after each onset (u_onset is the audio onset strength,
// `trigger` lets a mapping route or OSC fire it by hand).
// @enabled 1
// @bypass_when trigger<=0 u_onset<=threshold
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_input;
uniform sampler2D u_previous;
uniform float u_time;
uniform vec2 u_resolution;
uniform float u_onset;  // 0..1, from the audio analysis, every frame
uniform float amount; // @param 0 1 0.25 flash strength on onsets
uniform float threshold; // @param 0 1 0.3 onset strength below which nothing flashes
uniform float trigger; // @param 0 1 0.0 manual flash level (mapping/OSC)

void main() {
    vec3 rgb = texture(u_input, v_uv).rgb;
    float o = max(u_onset - threshold, 0.0) / max(1.0 - threshold, 1e-3);
    float flash = clamp(max(o * amount, trigger), 0.0, 1.0);
    f_color = vec4(mix(rgb, vec3(1.0), flash), 1.0);
}
