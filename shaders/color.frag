#version 330
// Hue / saturation / brightness / contrast, and an invert mix.
// @enabled 1
// @bypass_when hue==0 saturation==1 brightness==1 contrast==1 invert==0
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_input;
uniform sampler2D u_previous;
uniform float u_time;
uniform vec2 u_resolution;
uniform float hue; // @param 0 1 0 hue rotation in turns
uniform float saturation; // @param 0 3 1 saturation multiplier
uniform float brightness; // @param 0 3 1 brightness multiplier
uniform float contrast; // @param 0 3 1 contrast around mid grey
uniform float invert; // @param 0 1 0 mix towards the inverted colour

vec3 rgb2hsv(vec3 c) {
    vec4 K = vec4(0.0, -1.0 / 3.0, 2.0 / 3.0, -1.0);
    vec4 p = mix(vec4(c.bg, K.wz), vec4(c.gb, K.xy), step(c.b, c.g));
    vec4 q = mix(vec4(p.xyw, c.r), vec4(c.r, p.yzx), step(p.x, c.r));
    float d = q.x - min(q.w, q.y);
    float e = 1.0e-10;
    return vec3(abs(q.z + (q.w - q.y) / (6.0 * d + e)), d / (q.x + e), q.x);
}

vec3 hsv2rgb(vec3 c) {
    vec3 p = abs(fract(c.xxx + vec3(0.0, 2.0 / 3.0, 1.0 / 3.0)) * 6.0 - 3.0);
    return c.z * mix(vec3(1.0), clamp(p - 1.0, 0.0, 1.0), c.y);
}

void main() {
    vec3 rgb = texture(u_input, v_uv).rgb;
    vec3 hsv = rgb2hsv(rgb);
    hsv.x = fract(hsv.x + hue);
    hsv.y = clamp(hsv.y * saturation, 0.0, 1.0);
    hsv.z = hsv.z * brightness;
    rgb = hsv2rgb(hsv);
    rgb = (rgb - 0.5) * contrast + 0.5;
    rgb = mix(rgb, 1.0 - rgb, invert);
    f_color = vec4(clamp(rgb, 0.0, 1.0), 1.0);
}
