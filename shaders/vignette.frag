#version 330
// Vignette: darkens towards the corners.
// @enabled 1
// @bypass_when amount<=0
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_input;
uniform sampler2D u_previous;
uniform float u_time;
uniform vec2 u_resolution;
uniform float amount; // @param 0 1 0.35 darkness at the corners
uniform float radius; // @param 0.1 1.5 0.75 where the darkening starts (fraction of the half-diagonal)

void main() {
    vec3 rgb = texture(u_input, v_uv).rgb;
    float d = length((v_uv - 0.5) * 2.0) / 1.41421356;
    float v = 1.0 - amount * smoothstep(radius, radius + 0.5, d);
    f_color = vec4(rgb * v, 1.0);
}
