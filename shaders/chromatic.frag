#version 330
// Chromatic aberration: red and blue sampled shifted outwards/inwards from the centre.
// @enabled 1
// @bypass_when amount<=0
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_input;
uniform sampler2D u_previous;
uniform float u_time;
uniform vec2 u_resolution;
uniform float amount; // @param 0 0.05 0.0 channel shift as a fraction of the frame

void main() {
    vec2 d = (v_uv - 0.5) * amount;
    float r = texture(u_input, v_uv + d).r;
    float g = texture(u_input, v_uv).g;
    float b = texture(u_input, v_uv - d).b;
    f_color = vec4(r, g, b, 1.0);
}
